import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { compareLoras } from '../../src/core/lora/compare';
import { openLora, OpenLora } from '../../src/core/lora/open-lora';
import { pairLayers } from '../../src/core/lora/pairing';
import { SHAPE_DUMPS, tempDir } from '../support/build-safetensors';
import { GeneratedScheme, LayerSpec, layersFromKohyaDump, randomLayerValues, readShapeDump, seededRandom, withRank, writeLora } from '../support/lora-generators';
import { hasFixtures } from '../support/requirements';


async function generate(layers: readonly LayerSpec[], scheme: GeneratedScheme, family: 'sd1' | 'sdxl', seed: number): Promise<string> {
  const file = path.join(tempDir(), `${scheme}-${family}-${seed}.safetensors`);
  const random = seededRandom(seed);
  await writeLora(file, layers, (l) => randomLayerValues(l, random), { scheme, family, dtype: 'F16' });
  return file;
}

async function withBoth<T>(a: string, b: string, use: (x: OpenLora, y: OpenLora) => Promise<T>): Promise<T> {
  const x = await openLora(a);
  try {
    const y = await openLora(b);
    try {
      return await use(x, y);
    } finally {
      await y.file.close();
    }
  } finally {
    await x.file.close();
  }
}

const sides = (x: OpenLora, y: OpenLora) => [
  { name: 'A', layers: x.lora.layers, baseModel: x.lora.baseModel },
  { name: 'B', layers: y.lora.layers, baseModel: y.lora.baseModel },
] as const;

test('a kohya SDXL LoRA and the same layers in diffusers naming pair layer by layer (all 986)', async (t) => {
  if (!hasFixtures(t, SHAPE_DUMPS)) return;
  const layers = withRank(layersFromKohyaDump(readShapeDump('sdxl_kohya_lora.invokeai_dump.json')), 1);
  assert.equal(layers.length, 986);
  const kohya = await generate(layers, 'kohya', 'sdxl', 1);
  const diffusers = await generate(layers, 'peft', 'sdxl', 2);
  await withBoth(kohya, diffusers, async (x, y) => {
    assert.equal(x.lora.scheme, 'kohya');
    assert.equal(y.lora.scheme, 'peft');
    assert.equal(x.lora.baseModel.family, 'sdxl');
    assert.equal(y.lora.baseModel.family, 'sdxl');
    const report = pairLayers(...sides(x, y));
    assert.equal(report.paired.length, 986);
    assert.deepEqual([report.onlyInFirst.length, report.onlyInSecond.length, report.refused.length], [0, 0, 0]);
    assert.equal(report.incompatibility, undefined);
    const pair = report.paired.find((p) => p.first.down.name === 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight');
    assert.equal(pair?.second.down.name, 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight');
  });
});

test('kohya SD1.5 (with 1×1 conv proj_in/out) pairs with old diffusers and attention-processor naming', async (t) => {
  if (!hasFixtures(t, SHAPE_DUMPS)) return;
  const all = withRank(layersFromKohyaDump(readShapeDump('sd15_kohya_lora.invokeai_dump.json')), 2);
  assert.equal(all.length, 264);
  const unet = all.filter((l) => l.canonical.startsWith('unet.'));
  const attention = unet.filter((l) => /\.(to_q|to_k|to_v|to_out\.0)$/.test(l.canonical));
  const kohya = await generate(all, 'kohya', 'sd1', 3);
  const old = await generate(unet, 'diffusers-old', 'sd1', 4);
  const processors = await generate(attention, 'diffusers-attn-processor', 'sd1', 5);
  await withBoth(kohya, old, async (x, y) => {
    const report = pairLayers(...sides(x, y));
    assert.equal(report.paired.length, unet.length);
    assert.equal(report.onlyInFirst.length, all.length - unet.length);
    assert.ok(report.onlyInFirst.every((l) => l.module.startsWith('text_encoder.')));
    assert.ok(x.lora.layers.some((l) => l.kind === 'conv'), 'proj_in is a 1×1 conv in this dump');
  });
  await withBoth(old, processors, async (x, y) => {
    const report = pairLayers(...sides(x, y));
    assert.equal(report.paired.length, attention.length);
    assert.equal(report.onlyInSecond.length, 0);
  });
});

test('layers whose shapes differ are refused with the reason; others still pair', async () => {
  const base: LayerSpec[] = [
    { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [2, 768], upShape: [320, 2] },
    { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', downShape: [2, 320], upShape: [320, 2] },
    { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v', downShape: [2, 320], upShape: [320, 2] },
  ];
  const changed = base.map((l, i) => (i === 1 ? { ...l, downShape: [2, 640], upShape: [640, 2] } : l));
  const a = await generate(base, 'kohya', 'sd1', 6);
  const b = await generate(changed, 'peft', 'sd1', 7);
  await withBoth(a, b, async (x, y) => {
    const report = pairLayers(...sides(x, y));
    assert.equal(report.paired.length, 2);
    assert.equal(report.refused.length, 1);
    assert.equal(report.refused[0].module, base[1].canonical);
    assert.match(report.refused[0].reason, /320×320 vs 640×640/);
    const comparison = await compareLoras(x, y);
    assert.equal(comparison.measures.length, 2);
    assert.ok(comparison.measures.every((m) => m.meanAbsCosine !== null && m.meanAbsCosine >= 0 && m.meanAbsCosine <= 1));
  });
});

test('LoRAs for different base models give one message, not a list of refusals', async (t) => {
  if (!hasFixtures(t, SHAPE_DUMPS)) return;
  const sd15 = await generate(withRank(layersFromKohyaDump(readShapeDump('sd15_kohya_lora.invokeai_dump.json')), 1), 'kohya', 'sd1', 8);
  const sdxl = await generate(withRank(layersFromKohyaDump(readShapeDump('sdxl_kohya_lora.invokeai_dump.json')), 1), 'kohya', 'sdxl', 9);
  await withBoth(sd15, sdxl, async (x, y) => {
    const comparison = await compareLoras(x, y);
    assert.match(comparison.report.incompatibility ?? '', /different base models: kohya-sd1-8\.safetensors is for SD1\.x .*kohya-sdxl-9\.safetensors is for SDXL/);
    assert.equal(comparison.measures.length, 0, 'no measures for an incompatible pair');
  });
});
