/**
 * The Gram-based measures against a plain dense computation written here: ΔW = s·B·A built element by element,
 * its Frobenius norm and columns summed directly, and its singular values from a dense SVD of ΔW itself.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { crossGramRows, gramRows, columnBilinear, columnQuadratic } from '../../src/core/linalg/gram';
import { summarizeSpectrum } from '../../src/core/linalg/spectrum';
import { readLayerFactors } from '../../src/core/lora/factors';
import { columnCosine, layerGrams, layerStatistics } from '../../src/core/lora/layer-stats';
import { describeAdapter, LoraDescription } from '../../src/core/lora/recognise';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { GeneratedScheme, LayerSpec, LayerValues, randomNormal, seededRandom, writeLora } from '../support/lora-generators';

/** Dense ΔW = s·B·A (out × columns) from the standard-layout values. */
function denseDelta(values: LayerValues, out: number, rank: number, columns: number, scale: number): Float64Array {
  const w = new Float64Array(out * columns);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < columns; c++) {
      let s = 0;
      for (let k = 0; k < rank; k++) s += values.up[o * rank + k] * values.down[k * columns + c];
      w[o * columns + c] = scale * s;
    }
  }
  return w;
}

function denseColumnCosine(a: Float64Array, b: Float64Array, out: number, columns: number): number {
  let sum = 0;
  for (let c = 0; c < columns; c++) {
    let dot = 0, na = 0, nb = 0;
    for (let o = 0; o < out; o++) {
      const x = a[o * columns + c], y = b[o * columns + c];
      dot += x * y; na += x * x; nb += y * y;
    }
    sum += Math.abs(dot) / Math.sqrt(na * nb);
  }
  return sum / columns;
}

const close = (actual: number, expected: number, relative = 1e-5, what = '') =>
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(Math.abs(expected), 1e-12), `${what}: ${actual} vs ${expected}`);

// Ranks not divisible by 4 exercise the kernels' edge blocks; the conv layer checks the flattened kernel.
const LAYERS: LayerSpec[] = [
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', downShape: [5, 24], upShape: [24, 5] },
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [3, 40], upShape: [17, 3] },
  { canonical: 'unet.down_blocks.0.resnets.0.conv1', downShape: [4, 6, 3, 3], upShape: [10, 4, 1, 1] },
  { canonical: 'unet.down_blocks.0.attentions.0.proj_out', downShape: [8, 12], upShape: [12, 8] },
];

// MLX adapters are for language models: linear layers without a pipeline component.
const LLM_LAYERS: LayerSpec[] = [
  { canonical: 'model.layers.0.self_attn.q_proj', downShape: [6, 20], upShape: [20, 6] },
  { canonical: 'model.layers.0.mlp.down_proj', downShape: [3, 28], upShape: [9, 3] },
];

async function generated(scheme: GeneratedScheme, seed: number, rankOf: (l: LayerSpec) => number = (l) => l.downShape[0], specs = LAYERS) {
  const dir = tempDir();
  const file = path.join(dir, `${scheme}-${seed}.safetensors`);
  const random = seededRandom(seed);
  const layers = specs.map((l) => ({ ...l, downShape: [rankOf(l), ...l.downShape.slice(1)], upShape: [l.upShape[0], rankOf(l), ...l.upShape.slice(2)] }));
  const values = layers.map((l) => {
    const rank = l.downShape[0];
    const down = randomNormal(l.downShape.reduce((a, b) => a * b, 1), random);
    const up = randomNormal(l.upShape.reduce((a, b) => a * b, 1), random);
    return { down, up, alpha: rank * 0.75 };
  });
  await writeLora(file, layers, (_l, i) => values[i], { scheme, family: 'sd1', dtype: 'F32' });
  return { file, layers, values };
}

test('Gram kernels equal plain dot products, for ranks that are and are not multiples of 4', () => {
  const random = seededRandom(7);
  for (const [p, q, n] of [[4, 8, 33], [5, 3, 17], [7, 7, 1], [1, 2, 9]]) {
    const x = randomNormal(p * n, random);
    const y = randomNormal(q * n, random);
    const m = Float64Array.from(randomNormal(p * q, random));
    const cross = crossGramRows(x, p, y, q, n);
    const gram = gramRows(x, p, n);
    const bilinear = columnBilinear(m, x, p, y, q, n);
    const symmetric = Float64Array.from(gram); // a symmetric matrix for the quadratic form
    const quadratic = columnQuadratic(symmetric, x, p, n);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < q; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += x[i * n + k] * y[j * n + k];
        close(cross[i * q + j], s, 1e-9, `cross ${p}×${q}×${n} [${i},${j}]`);
      }
      for (let j = 0; j < p; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += x[i * n + k] * x[j * n + k];
        close(gram[i * p + j], s, 1e-9, `gram [${i},${j}]`);
      }
    }
    for (let c = 0; c < n; c++) {
      let b = 0, qd = 0;
      for (let i = 0; i < p; i++) {
        for (let k = 0; k < q; k++) b += x[i * n + c] * m[i * q + k] * y[k * n + c];
        for (let k = 0; k < p; k++) qd += x[i * n + c] * symmetric[i * p + k] * x[k * n + c];
      }
      close(bilinear[c], b, 1e-9, `bilinear column ${c}`);
      close(quadratic[c], qd, 1e-9, `quadratic column ${c}`);
    }
  }
});

for (const scheme of ['kohya', 'peft', 'mlx'] as const) {
  test(`‖ΔW‖ and singular values from Grams equal a dense ΔW (${scheme} naming)`, async () => {
    const { file, layers, values } = scheme === 'mlx' ? await generated('mlx', 11, undefined, LLM_LAYERS) : await generated(scheme, 11);
    await withSafetensors(file, async (st) => {
      const lora = (await describeAdapter(st)) as LoraDescription;
      assert.equal(lora.kind, 'lora');
      assert.equal(lora.layers.length, layers.length);
      for (const [i, spec] of layers.entries()) {
        const layer = lora.layers.find((l) => l.module === spec.canonical);
        assert.ok(layer, spec.canonical);
        const rank = spec.downShape[0];
        const columns = spec.downShape.slice(1).reduce((a, b) => a * b, 1);
        const out = spec.upShape[0];
        // kohya: alpha / rank = 0.75; PEFT and MLX without an adapter config beside the file: 1.
        const expectedScale = scheme === 'kohya' ? 0.75 : 1;
        assert.equal(layer.transposed, scheme === 'mlx');
        close(layer.scale, expectedScale, 1e-6, 'scale');
        const stats = layerStatistics(layerGrams(layer, await readLayerFactors(st, layer), true));
        const dense = denseDelta(values[i], out, rank, columns, expectedScale);
        close(stats.norm, Math.sqrt(dense.reduce((s, v) => s + v * v, 0)), 1e-6, `${spec.canonical} norm`);
        const reference = new SingularValueDecomposition(new Matrix(Array.from({ length: out }, (_, o) => Array.from(dense.subarray(o * columns, (o + 1) * columns)))), { autoTranspose: true }).diagonal;
        const expected = [...reference].sort((a, b) => b - a).slice(0, rank);
        assert.equal(stats.singularValues.length, rank);
        stats.singularValues.forEach((s, k) => close(s, expected[k], 1e-5, `${spec.canonical} σ${k}`));
      }
    });
  });
}

test('column cosine from r×r Grams equals the dense column cosine, also for different ranks', async () => {
  const a = await generated('kohya', 21);
  const b = await generated('peft', 22, (l) => l.downShape[0] + 2);
  await withSafetensors(a.file, (fa) => withSafetensors(b.file, async (fb) => {
    const la = (await describeAdapter(fa)) as LoraDescription;
    const lb = (await describeAdapter(fb)) as LoraDescription;
    for (const [i, spec] of a.layers.entries()) {
      const layerA = la.layers.find((l) => l.module === spec.canonical)!;
      const layerB = lb.layers.find((l) => l.module === spec.canonical)!;
      const ga = layerGrams(layerA, await readLayerFactors(fa, layerA), false);
      const gb = layerGrams(layerB, await readLayerFactors(fb, layerB), false);
      const measured = columnCosine(ga, gb);
      const columns = layerA.columns;
      const out = layerA.outFeatures;
      const denseA = denseDelta(a.values[i], out, layerA.rank, columns, layerA.scale);
      const denseB = denseDelta(b.values[i], out, layerB.rank, columns, layerB.scale);
      assert.equal(measured.columnsCompared, columns);
      close(measured.meanAbsCosine!, denseColumnCosine(denseA, denseB, out, columns), 1e-6, `${spec.canonical} cosine`);
      close(measured.firstNorm, Math.sqrt(denseA.reduce((s, v) => s + v * v, 0)), 1e-6, 'first norm');
      close(measured.secondNorm, Math.sqrt(denseB.reduce((s, v) => s + v * v, 0)), 1e-6, 'second norm');
    }
  }));
});

test('effective rank is exp of the entropy of σ²/Σσ²', () => {
  assert.equal(summarizeSpectrum([3, 0, 0]).effectiveRank, 1);
  close(summarizeSpectrum([2, 2, 2, 2]).effectiveRank, 4, 1e-12, 'four equal');
  assert.equal(summarizeSpectrum([2, 2, 2, 2]).rankFor90PercentEnergy, 4);
  assert.equal(summarizeSpectrum([10, 1, 1]).rankFor90PercentEnergy, 1);
  assert.deepEqual(summarizeSpectrum([0, 0]), { energy: 0, effectiveRank: 0, rankFor90PercentEnergy: 0, topEnergyShare: 0 });
  const p = [0.8, 0.2];
  close(summarizeSpectrum([Math.sqrt(0.8), Math.sqrt(0.2)]).effectiveRank, Math.exp(-p.reduce((s, x) => s + x * Math.log(x), 0)), 1e-12, 'two');
});
