/**
 * Merges of three LoRAs in-process: the merged ΔW is Σ_i w_i,b · ΔW_i · diag(m_i) per layer and block (m_i read
 * from the sidecar), a block weight 0 leaves an input out of that block, `skip` leaves the block out, `direct` is
 * m = 1, a layer only one input has is copied scaled by its weight; and two-way merges are what they were before
 * N-way merges existed, byte for byte.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openLora } from '../../src/core/lora/open-lora';
import { runMerge } from '../../src/core/merge/pipeline';
import { MergeRequest, sidecarPathFor } from '../../src/core/merge/request';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { LayerSpec, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { denseLayers, mergeRequest, mergeRequestOf, readSidecar, SD15_LAYERS, writePair } from '../support/merge-fixtures';

const dir = tempDir();

/** A layer of the up blocks that only input 1 has. */
const ONLY_IN_FIRST: LayerSpec = { canonical: 'unet.up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', downShape: [3, 1280], upShape: [1280, 3] };
const MID = 'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_v';
const CONV = 'unet.down_blocks.0.resnets.0.conv1';

/**
 * Three inputs in two namings: input 1 has every SD15 layer and ONLY_IN_FIRST, input 2 every SD15 layer, input 3
 * all but the 3×3 conv (merged among inputs 1 and 2 only). Ranks differ per input.
 */
async function writeThree(sub: string): Promise<string[]> {
  mkdirSync(sub, { recursive: true });
  const rank = (layers: readonly LayerSpec[], r: number) => layers.map((l) => ({ ...l, downShape: [r, ...l.downShape.slice(1)], upShape: [l.upShape[0], r, ...l.upShape.slice(2)] }));
  const inputs: [string, LayerSpec[], 'kohya' | 'peft'][] = [
    ['one.safetensors', [...SD15_LAYERS, ONLY_IN_FIRST], 'kohya'],
    ['two.safetensors', rank(SD15_LAYERS, 3), 'peft'],
    ['three.safetensors', rank(SD15_LAYERS.filter((l) => l.canonical !== CONV), 2), 'kohya'],
  ];
  const files: string[] = [];
  for (const [k, [name, layers, scheme]] of inputs.entries()) {
    const file = path.join(sub, name);
    await writeLora(file, layers, (l, i) => randomLayerValues(l, seededRandom(1000 * (k + 1) + i), l.downShape[0] / 2 + k), { scheme, family: 'sd1' });
    files.push(file);
  }
  return files;
}

/** max |got − expected| / max |expected|. */
function relativeError(got: Float64Array, expected: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < got.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

type Dense = Awaited<ReturnType<typeof denseLayers>>;

/** Σ_i w_i · ΔW_i · diag(m_i) over the inputs present (m_i undefined: m = 1). */
function expectedMerge(inputs: readonly Dense[], module: string, weights: readonly (number | undefined)[], m: readonly (Float32Array | undefined)[]): Float64Array {
  const present = inputs.map((d, i) => (weights[i] ? { w: d.get(module)!.w, weight: weights[i]!, m: m[i] } : undefined));
  const { out, cols } = inputs[0].get(module) ?? inputs[1].get(module)!;
  const expected = new Float64Array(out * cols);
  for (const p of present) {
    if (!p) continue;
    for (let r = 0; r < out; r++) for (let j = 0; j < cols; j++) expected[r * cols + j] += p.weight * (p.m ? p.m[j] : 1) * p.w[r * cols + j];
  }
  return expected;
}

async function mergeThree(name: string, weights: readonly number[], overrides: Partial<MergeRequest> = {}) {
  const sub = path.join(dir, name);
  const files = await writeThree(sub);
  const output = path.join(sub, 'merged.safetensors');
  const request = mergeRequestOf(files, output, overrides);
  const summary = await runMerge({ ...request, inputs: request.inputs.map((input, i) => ({ ...input, weight: weights[i] })) });
  const [merged, ...inputs] = await Promise.all([denseLayers(output), ...files.map((f) => denseLayers(f))]);
  const sidecar = await readSidecar(sidecarPathFor(output));
  return { files, output, summary, merged, inputs, sidecar };
}

test('3-way merge: ΔW = Σ_i w_i,b·ΔW_i·diag(m_i) per block; a block weight 0 leaves that input out; a layer of one input is copied scaled', async () => {
  const strengths = [0.8, 1, 0.5];
  // In the mid block input 2 is left out (weight 0) and input 3 counts twice: 0.5 × 2.
  const { summary, merged, inputs, sidecar } = await mergeThree('weighted', strengths, { blocks: [{ block: 'unet.mid_block', weights: [1, 0, 2] }] });
  assert.equal(summary.layers.merged, SD15_LAYERS.length);
  assert.deepEqual(summary.layers.copied, [1, 0, 0]);
  assert.equal(merged.size, SD15_LAYERS.length + 1);
  for (const layer of SD15_LAYERS) {
    const module = layer.canonical;
    const weights = module === MID ? [0.8, 0, 1] : module === CONV ? [0.8, 1, undefined] : strengths;
    const { m } = sidecar.coefficients.get(module)!;
    // The sidecar holds m_i exactly for the inputs present: `<module>.m.<i>`.
    assert.deepEqual(m.flatMap((values, i) => (values ? [i] : [])), weights.flatMap((w, i) => (w ? [i] : [])), `${module}: inputs in the sidecar`);
    const error = relativeError(merged.get(module)!.w, expectedMerge(inputs, module, weights, m));
    assert.ok(error < 1e-5, `${module}: relative error ${error}`);
    assert.ok(m.some((values) => values?.some((v) => v < 0.999)), `${module}: coefficients never moved`);
    const report = sidecar.report.find((r) => r.module === module)!;
    assert.deepEqual(report.inputs, weights.flatMap((w, i) => (w ? [i] : [])));
    assert.deepEqual(report.weights, weights.filter((w) => w));
  }
  // Copied from input 1 alone, its ΔW times its strength 0.8.
  const copied = merged.get(ONLY_IN_FIRST.canonical)!.w;
  const original = inputs[0].get(ONLY_IN_FIRST.canonical)!.w;
  assert.ok(relativeError(copied, original.map((v) => 0.8 * v)) < 1e-6);
  assert.deepEqual(summary.unmerged.copied, [{ input: 0, module: ONLY_IN_FIRST.canonical, weight: 0.8 }]);
  // Output rank: the sum of the present inputs' ranks (4 + 3 + 2 where all three are, 2 + 3 for the conv).
  const lora = await openLora(summary.output);
  try {
    for (const layer of lora.lora.layers) {
      const expected = layer.module === ONLY_IN_FIRST.canonical ? 3 : layer.module === CONV ? 5 : layer.module === MID ? 6 : 9;
      assert.equal(layer.rank, expected, `${layer.module}: rank`);
    }
  } finally {
    await lora.file.close();
  }
  assert.deepEqual(summary.inputs.map((i) => i.weight), strengths);
  assert.equal(summary.meanErrors.length, 3);
  await withSafetensors(summary.output, async (read) => {
    const inputsMeta = JSON.parse(read.metadata.ziplora_inputs) as { file: string; sha256: string; weight: number }[];
    assert.deepEqual(inputsMeta.map((i) => [i.file, i.weight]), [['one.safetensors', 0.8], ['two.safetensors', 1], ['three.safetensors', 0.5]]);
    assert.ok(inputsMeta.every((i) => /^[0-9a-f]{64}$/.test(i.sha256)));
    const recipe = JSON.parse(read.metadata.ziplora_recipe);
    assert.deepEqual(recipe.inputs, [{ path: 'one.safetensors', weight: 0.8 }, { path: 'two.safetensors', weight: 1 }, { path: 'three.safetensors', weight: 0.5 }]);
    assert.deepEqual(recipe.blocks, [{ block: 'unet.mid_block', weights: [1, 0, 2] }]);
  });
  assert.equal(sidecar.metadata.ziplora_format, '2');
});

test('3-way merge: `direct` blocks are the weighted sum (m = 1), `skip` blocks are not written', async () => {
  const blocks = [
    { block: 'unet.down_blocks.0', method: 'direct' as const },
    { block: 'unet.mid_block', method: 'skip' as const },
  ];
  const { summary, merged, inputs, sidecar } = await mergeThree('methods', [1, 0.6, 1.5], { blocks });
  assert.equal(merged.has(MID), false, 'the skipped block is not written');
  assert.equal(sidecar.coefficients.has(MID), false);
  assert.equal(summary.layers.notWritten, 1);
  const leftOut = summary.unmerged.leftOut.filter((t) => /mid_block/.test(t.tensor));
  assert.deepEqual([...new Set(leftOut.map((t) => t.input))], [0, 1, 2], 'each input\'s tensors of the skipped layer are listed');
  assert.ok(leftOut.every((t) => /skipped by a block rule/.test(t.reason)));
  for (const layer of SD15_LAYERS.filter((l) => l.canonical !== MID)) {
    const module = layer.canonical;
    const weights = module === CONV ? [1, 0.6, undefined] : [1, 0.6, 1.5];
    const error = relativeError(merged.get(module)!.w, expectedMerge(inputs, module, weights, []));
    assert.ok(error < 1e-6, `${module}: direct merge relative error ${error}`);
    const report = sidecar.report.find((r) => r.module === module)!;
    assert.equal(report.method, 'direct');
    assert.deepEqual(report.errors, report.directErrors, `${module}: a direct layer is its own baseline`);
  }
});

test('an input whose weight is 0 everywhere is left out of every layer; a layer then left with one input is copied', async () => {
  const { summary, merged, inputs } = await mergeThree('zero', [1, 0, 1]);
  // The conv is in inputs 1 and 2 only: with input 2 at 0 it is input 1's, copied.
  assert.deepEqual(summary.layers.copied, [2, 0, 0]);
  assert.ok(relativeError(merged.get(CONV)!.w, inputs[0].get(CONV)!.w) < 1e-6);
  for (const report of summary.reports) assert.deepEqual(report.inputs, [0, 2]);
});

/**
 * Tensor bytes (dtype, shape, data, in file order) of two-way merges, computed with the two-way merge before N-way
 * merges existed (commit ce744b1) on the same generated pairs: the merged file and the sidecar's coefficients and
 * loss curves. Only the metadata changed (format 2). The three Newton cases were recorded again when the solver's
 * stop changed (the corners certificate at 2 %, and the Jacobi diagonal summed per input): their coefficients are
 * a different point within the proven bound, so their bytes differ; the direct and Adam cases are the ce744b1 bytes.
 */
const TWO_WAY_HASHES: Record<string, readonly [string, string]> = {
  'zip-kohya-peft': ['15c721fed7ba1895', '4da48626e33e766c'],
  'zip-output-cols': ['f5d954756bb57c50', '2c42c231b3a26095'],
  direct: ['d06f24c51526404b', 'fffd542fa36c4033'],
  adam: ['734c7ca07c7fb3df', 'f2443e7fd129f260'],
  rank3: ['4ae56e68e333b33d', '4da48626e33e766c'],
};

async function tensorHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  await withSafetensors(file, async (read) => {
    for (const t of read.tensors) {
      hash.update(`${t.dtype}:${t.shape.join(',')}\n`);
      hash.update(await read.readBytes(t));
    }
  });
  return hash.digest('hex').slice(0, 16);
}

test('two-way merges write the same tensors, byte for byte, as before N-way merges', async () => {
  const cases = [
    ['zip-kohya-peft', {}, { contentScheme: 'kohya', styleScheme: 'peft' }],
    ['zip-output-cols', { columns: 'output' }, { contentScheme: 'kohya', styleScheme: 'kohya' }],
    ['direct', { method: 'direct' }, { contentScheme: 'peft', styleScheme: 'kohya' }],
    ['adam', { solver: 'adam', steps: 20 }, { contentScheme: 'kohya', styleScheme: 'kohya' }],
    ['rank3', { rank: 3 }, { contentScheme: 'kohya', styleScheme: 'peft' }],
  ] as const;
  for (const [name, overrides, schemes] of cases) {
    const sub = path.join(dir, `two-way-${name}`);
    mkdirSync(sub);
    const { content, style } = await writePair(sub, schemes);
    const output = path.join(sub, 'merged.safetensors');
    await runMerge(mergeRequest(content, style, output, overrides));
    assert.deepEqual([await tensorHash(output), await tensorHash(sidecarPathFor(output))], TWO_WAY_HASHES[name], `${name}: merged file, sidecar`);
  }
});
