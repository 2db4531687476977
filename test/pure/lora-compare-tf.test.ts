/**
 * The float32 column forms on tfjs-wasm (what `ziplora compare` uses) against the float64 JavaScript path, which
 * lora-stats.test.ts checks against a dense ΔW. Tolerances are float32-sized (1e-5 on small layers, 1e-4 on
 * SDXL-sized ones, where sums run over thousands of terms); a wrong layout or transpose misses them by far.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { compareLoras, PairMeasures } from '../../src/core/lora/compare';
import { openLora, OpenLora } from '../../src/core/lora/open-lora';
import { selectBackend } from '../../src/core/merge/backends';
import { tempDir } from '../support/build-safetensors';
import { GeneratedScheme, LayerSpec, LayerValues, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';

const tfReady = selectBackend('wasm').then((b) => b.tf);

async function generate(layers: readonly LayerSpec[], scheme: GeneratedScheme, seed: number, edit?: (v: LayerValues, l: LayerSpec) => void): Promise<string> {
  const file = path.join(tempDir(), `${scheme}-${seed}.safetensors`);
  const random = seededRandom(seed);
  await writeLora(file, layers, (l) => {
    const values = randomLayerValues(l, random);
    edit?.(values, l);
    return values;
  }, { scheme, family: 'sd1', dtype: 'F32' });
  return file;
}

async function compareBothWays(a: string, b: string): Promise<{ f32: readonly PairMeasures[]; f64: readonly PairMeasures[] }> {
  const tf = await tfReady;
  const [x, y] = [await openLora(a), await openLora(b)];
  try {
    return { f32: (await compareLoras(x, y, { tf })).measures, f64: (await compareLoras(x, y)).measures };
  } finally {
    await Promise.all([x.file.close(), y.file.close()]);
  }
}

function assertClose(f32: readonly PairMeasures[], f64: readonly PairMeasures[], relative: number): void {
  assert.equal(f32.length, f64.length);
  for (const [i, m] of f32.entries()) {
    const r = f64[i];
    assert.equal(m.module, r.module);
    assert.equal(m.columnsCompared, r.columnsCompared, `${m.module} columns compared`);
    for (const key of ['meanAbsCosine', 'firstNorm', 'secondNorm'] as const) {
      const [got, want] = [m[key]!, r[key]!];
      assert.ok(Math.abs(got - want) <= relative * Math.abs(want), `${m.module} ${key}: ${got} vs ${want}`);
    }
  }
}

const linear = (canonical: string, rank: number, columns: number, out: number): LayerSpec => ({ canonical, downShape: [rank, columns], upShape: [out, rank] });

test('float32 column forms equal the float64 ones: odd and different ranks, a conv, MLX layout on one side', async () => {
  const sd: LayerSpec[] = [
    linear('unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', 5, 24, 24),
    linear('unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', 3, 40, 17),
    { canonical: 'unet.down_blocks.0.resnets.0.conv1', downShape: [4, 6, 3, 3], upShape: [10, 4, 1, 1] },
  ];
  const wider = sd.map((l) => ({ ...l, downShape: [l.downShape[0] + 2, ...l.downShape.slice(1)], upShape: [l.upShape[0], l.downShape[0] + 2, ...l.upShape.slice(2)] }));
  const sdResult = await compareBothWays(await generate(sd, 'kohya', 1), await generate(wider, 'peft', 2));
  assertClose(sdResult.f32, sdResult.f64, 1e-5);
  const llm = [linear('model.layers.0.self_attn.q_proj', 6, 20, 20), linear('model.layers.0.mlp.down_proj', 3, 28, 9)];
  const llmResult = await compareBothWays(await generate(llm, 'peft', 3), await generate(llm, 'mlx', 4));
  assertClose(llmResult.f32, llmResult.f64, 1e-5);
});

test('float32 column forms stay close on SDXL-sized layers (rank 32, 5120 and 10240 wide)', async () => {
  const layers = [
    linear('unet.down_blocks.1.attentions.0.transformer_blocks.0.ff.net.2', 32, 5120, 640),
    linear('unet.down_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj', 32, 640, 10240),
  ];
  const { f32, f64 } = await compareBothWays(await generate(layers, 'kohya', 5), await generate(layers, 'kohya', 6));
  assertClose(f32, f64, 1e-4);
});

test('float32 path: zero columns are left out, and NaN is named by the float64 fallback', async () => {
  const layers = [linear('unet.down_blocks.0.attentions.0.proj_in', 4, 12, 8)];
  const zeroColumn = (v: LayerValues) => { for (let k = 0; k < 4; k++) v.down[k * 12 + 3] = 0; };
  const { f32, f64 } = await compareBothWays(await generate(layers, 'kohya', 7, zeroColumn), await generate(layers, 'kohya', 8));
  assert.equal(f32[0].columnsCompared, 11);
  assertClose(f32, f64, 1e-5);
  const tf = await tfReady;
  const nan = await generate(layers, 'kohya', 9, (v) => { v.up[5] = NaN; });
  const [x, y]: OpenLora[] = [await openLora(await generate(layers, 'kohya', 10)), await openLora(nan)];
  try {
    await assert.rejects(compareLoras(x, y, { tf }), /lora_unet_down_blocks_0_attentions_0_proj_in\.lora_up\.weight" holds NaN or infinite values/);
  } finally {
    await Promise.all([x.file.close(), y.file.close()]);
  }
});
