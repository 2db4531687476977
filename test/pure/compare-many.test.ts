/**
 * Comparing several LoRAs: every pair in the solver's order, each pair exactly the two-way comparison, each
 * pair's mean |cos| per block, and two files giving the two-way text unchanged.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { compareLoras, Comparison } from '../../src/core/lora/compare';
import { withFileComparison, withManyFileComparison } from '../../src/core/lora/compare-files';
import { blockCosines, checkComparedCount, pairIndices } from '../../src/core/lora/compare-many';
import { openLora } from '../../src/core/lora/open-lora';
import { tempDir } from '../support/build-safetensors';
import { GeneratedScheme, LayerSpec, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';

const linear = (canonical: string, rank: number, columns: number, out: number): LayerSpec => ({ canonical, downShape: [rank, columns], upShape: [out, rank] });

const LAYERS: LayerSpec[] = [
  linear('unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', 4, 32, 32),
  linear('unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k', 4, 32, 32),
  linear('unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q', 4, 48, 48),
  linear('text_encoder.text_model.encoder.layers.0.self_attn.q_proj', 2, 16, 16),
];

async function generate(name: string, layers: readonly LayerSpec[], scheme: GeneratedScheme, seed: number): Promise<string> {
  const file = path.join(tempDir(), `${name}.safetensors`);
  const random = seededRandom(seed);
  await writeLora(file, layers, (l) => randomLayerValues(l, random), { scheme, family: 'sd1', dtype: 'F32' });
  return file;
}

test('pairs in the order (0,1), (0,2) … (1,2) …; 2 to 8 files', () => {
  assert.deepEqual(pairIndices(2), [[0, 1]]);
  assert.deepEqual(pairIndices(4), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
  assert.equal(pairIndices(8).length, 28);
  assert.throws(() => checkComparedCount(1), /2 to 8 LoRA files \(got 1\)/);
  assert.throws(() => checkComparedCount(9), /got 9/);
  checkComparedCount(8);
});

test('block means: per pair, over the block\'s measured layers, blocks in network order', () => {
  const measure = (module: string, meanAbsCosine: number | null) => ({ module, meanAbsCosine, firstNorm: 1, secondNorm: 1, columnsCompared: 4 });
  const comparison = (measures: ReturnType<typeof measure>[]) => ({ comparison: { report: { paired: [], onlyInFirst: [], onlyInSecond: [], refused: [] }, measures } as unknown as Comparison });
  const blocks = blockCosines([
    comparison([measure('unet.up_blocks.0.attentions.0.proj_in', 0.5), measure('unet.down_blocks.1.attentions.0.proj_in', 0.2), measure('unet.down_blocks.1.attentions.1.proj_in', 0.4)]),
    comparison([measure('unet.down_blocks.1.attentions.0.proj_in', null), measure('unet.up_blocks.0.attentions.0.proj_in', 0.9)]),
  ]);
  assert.deepEqual(blocks.map((b) => b.block), ['unet.down_blocks.1', 'unet.up_blocks.0']);
  assert.ok(Math.abs(blocks[0].meanAbsCosine[0]! - 0.3) < 1e-12);
  assert.equal(blocks[0].meanAbsCosine[1], null, 'a block with no measured layer has no mean');
  assert.deepEqual(blocks[0].layers, [2, 0]);
  assert.deepEqual(blocks[1].meanAbsCosine, [0.5, 0.9]);
});

test('three files: each pair is the two-way comparison; a file compared with its copy has |cos| 1', async () => {
  const a = await generate('a', LAYERS, 'kohya', 1);
  const b = await generate('b', LAYERS.slice(0, 3), 'peft', 2);
  const c = await generate('c', LAYERS, 'kohya', 1); // a's values again
  const result = await withManyFileComparison([a, b, c], undefined, (r) => r);
  assert.deepEqual(result.comparison.pairs.map((p) => [p.a, p.b]), [[0, 1], [0, 2], [1, 2]]);
  const [x, y] = [await openLora(a), await openLora(b)];
  try {
    const twoWay = await compareLoras(x, y);
    // The many-file path measures in float32 on wasm, the two-way call here in float64: float32-close.
    const many = result.comparison.pairs[0].comparison.measures;
    assert.deepEqual(many.map((m) => m.module), twoWay.measures.map((m) => m.module));
    many.forEach((m, i) => assert.ok(Math.abs(m.meanAbsCosine! - twoWay.measures[i].meanAbsCosine!) < 1e-5, m.module));
  } finally {
    await Promise.all([x.file.close(), y.file.close()]);
  }
  for (const m of result.comparison.pairs[1].comparison.measures) assert.ok(Math.abs(m.meanAbsCosine! - 1) < 1e-5, `${m.module}: A·C cos ${m.meanAbsCosine}`);
  const down = result.comparison.blocks.find((bl) => bl.block === 'unet.down_blocks.1')!;
  assert.deepEqual(down.layers, [2, 2, 2]);
  assert.ok(Math.abs(down.meanAbsCosine[1]! - 1) < 1e-5);
  assert.ok(down.meanAbsCosine[0]! < 0.9, 'independent random LoRAs are far from aligned');
  const textEncoder = result.comparison.blocks.find((bl) => bl.block === 'text_encoder')!;
  assert.deepEqual(textEncoder.layers, [0, 1, 0], 'only A and C have the text encoder layer');
  assert.match(result.text, /^A {2}.*a\.safetensors/m);
  assert.match(result.text, /^C {2}.*c\.safetensors/m);
  assert.match(result.text, /A·B: 3 paired, 1 only in A, 0 only in B, 0 refused/);
  assert.match(result.text, /block\s+A·B\s+A·C\s+B·C/);
  assert.match(result.text, /^text_encoder\s+—\s+1\s+—$/m);
});

test('two files: the same text as the two-way compare', async () => {
  const a = await generate('a2', LAYERS, 'kohya', 3);
  const b = await generate('b2', LAYERS, 'peft', 4);
  const many = await withManyFileComparison([a, b], undefined, (r) => r.text);
  const two = await withFileComparison(a, b, undefined, (r) => r.text);
  assert.equal(many, two);
});

test('an incompatible pair is refused naming both files', async () => {
  const a = await generate('sd-a', LAYERS, 'kohya', 5);
  const b = await generate('sd-b', LAYERS, 'kohya', 6);
  const flux = path.join(tempDir(), 'flux.safetensors');
  const random = seededRandom(7);
  await writeLora(flux, [linear('transformer.single_transformer_blocks.0.attn.to_q', 2, 16, 16)], (l) => randomLayerValues(l, random), { scheme: 'peft', family: 'flux', dtype: 'F32' });
  await assert.rejects(withManyFileComparison([a, b, flux], undefined, () => undefined), (error: Error) => error.message.includes('flux.safetensors') && error.message.includes('sd-a.safetensors'));
});
