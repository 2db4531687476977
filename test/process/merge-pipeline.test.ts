/** Whole merges in-process: exact outputs in every naming, the direct merge, real files. */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openLora } from '../../src/core/lora/open-lora';
import { runMerge } from '../../src/core/merge/pipeline';
import { DEFAULT_GAP_FRACTION } from '../../src/core/merge/optimality-gap';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { REAL_FIXTURES, tempDir } from '../support/build-safetensors';
import { denseSvd, relativeFrobenius } from '../support/dense-svd';
import { denseLayers, mergeRequest, readSidecar, SD15_LAYERS, writePair } from '../support/merge-fixtures';
import { hasFixtures } from '../support/requirements';

const dir = tempDir();

/** max |got − expected| / max |expected| over the layer. */
function relativeError(got: Float64Array, expected: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < got.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

async function checkExact(content: string, style: string, output: string, columns: 'input' | 'output') {
  const [merged, c, s] = await Promise.all([denseLayers(output), denseLayers(content), denseLayers(style)]);
  const { coefficients } = await readSidecar(output.replace(/\.safetensors$/, '.ziplora.safetensors'));
  assert.equal(merged.size, SD15_LAYERS.length);
  for (const [module, { w, out, cols }] of merged) {
    const m = coefficients.get(module);
    assert.ok(m, `no coefficients for ${module}`);
    const wc = c.get(module)!.w;
    const ws = s.get(module)!.w;
    const expected = new Float64Array(out * cols);
    for (let i = 0; i < out; i++)
      for (let j = 0; j < cols; j++) {
        const k = columns === 'input' ? j : i;
        expected[i * cols + j] = m.mContent[k] * wc[i * cols + j] + m.mStyle[k] * ws[i * cols + j];
      }
    const error = relativeError(w, expected);
    assert.ok(error < 1e-5, `${module}: relative error ${error}`);
    assert.ok(m.mContent.some((v) => v < 0.999) || m.mStyle.some((v) => v < 0.999), `${module}: coefficients never moved`);
  }
}

for (const [contentScheme, naming, columns] of [
  ['kohya', 'content', 'input'],
  ['kohya', 'diffusers', 'input'],
  ['peft', 'content', 'input'],
  ['kohya', 'content', 'output'],
] as const) {
  test(`exact output: up·down = m_c⊙ΔW_c + m_s⊙ΔW_s (${contentScheme} content, ${naming} naming, ${columns} columns; linear and conv)`, async () => {
    const sub = path.join(dir, `${contentScheme}-${naming}-${columns}`);
    mkdirSync(sub);
    const { content, style } = await writePair(sub, { contentScheme, styleScheme: 'peft' });
    const output = path.join(sub, 'merged.safetensors');
    const summary = await runMerge(mergeRequest(content, style, output, { naming, columns }));
    assert.equal(summary.layers.merged, SD15_LAYERS.length);
    await checkExact(content, style, output, columns);
    const merged = await openLora(output);
    try {
      assert.equal(merged.lora.scheme, naming === 'diffusers' || contentScheme === 'peft' ? 'peft' : 'kohya');
      for (const layer of merged.lora.layers) {
        assert.equal(layer.rank, SD15_LAYERS.find((l) => l.canonical === layer.module)!.downShape[0] * 2, 'rank r_c + r_s');
        if (layer.scheme === 'kohya') assert.equal(layer.alpha, layer.rank, 'kohya alpha = r_c + r_s');
        assert.equal(layer.scale, 1);
      }
    } finally {
      await merged.file.close();
    }
  });
}

test('zero Adam steps gives exactly the direct merge, and the direct method with input weights scales each LoRA', async () => {
  const sub = path.join(dir, 'direct');
  mkdirSync(sub);
  const { content, style } = await writePair(sub);
  const zero = path.join(sub, 'zero.safetensors');
  await runMerge(mergeRequest(content, style, zero, { solver: 'adam', steps: 0 }));
  const weighted = path.join(sub, 'weighted.safetensors');
  const summary = await runMerge(mergeRequest(content, style, weighted, { method: 'direct', inputs: [{ path: content, weight: 0.7 }, { path: style, weight: 0.4 }] }));
  assert.equal(summary.optimiseSeconds < 5, true);
  assert.equal(summary.gflops, undefined, 'no optimisation, no rate');
  const [z, w, c, s] = await Promise.all([denseLayers(zero), denseLayers(weighted), denseLayers(content), denseLayers(style)]);
  for (const [module, layer] of z) {
    const wc = c.get(module)!.w;
    const ws = s.get(module)!.w;
    assert.ok(relativeError(layer.w, wc.map((v, i) => v + ws[i])) < 1e-6, `${module} zero steps`);
    assert.ok(relativeError(w.get(module)!.w, wc.map((v, i) => 0.7 * v + 0.4 * ws[i])) < 1e-6, `${module} weighted`);
  }
});

test('the merged file records its recipe and inputs; the sidecar (format 2) holds how it ran and the per-layer report', async () => {
  const sub = path.join(dir, 'metadata');
  mkdirSync(sub);
  const { content, style } = await writePair(sub, { dtype: 'F16' });
  const output = path.join(sub, 'out.safetensors');
  await runMerge(mergeRequest(content, style, output, { dtype: 'auto', lambda: 0.05 }));
  await withSafetensors(output, async (read) => {
    // The recipe that re-creates the merge, its paths relative to the merged file's folder (recipe.ts).
    const recipe = JSON.parse(read.metadata.ziplora_recipe);
    assert.deepEqual(recipe.inputs, [{ path: path.basename(content), weight: 1 }, { path: path.basename(style), weight: 1 }]);
    assert.deepEqual([recipe.method, recipe.solver, recipe.lambda, recipe.columns, recipe.output], ['ziplora', 'newton', 0.05, 'input', 'out.safetensors']);
    const inputs = JSON.parse(read.metadata.ziplora_inputs);
    assert.deepEqual(inputs.map((i: { file: string }) => i.file), [path.basename(content), path.basename(style)]);
    assert.match(inputs[0].sha256, /^[0-9a-f]{64}$/);
    const run = JSON.parse(read.metadata.ziplora_run);
    assert.equal(run.backend, 'wasm');
    assert.deepEqual(run.newton, { gapFraction: 0.02, tolerance: 1e-4, maxIterations: 50, maxEvaluations: 100 });
    assert.match(run.version, /^\d+\.\d+\.\d+/);
    assert.ok(read.tensors.every((t) => t.dtype === 'F16'), 'output dtype follows the inputs');
  });
  const { report, metadata } = await readSidecar(path.join(sub, 'out.ziplora.safetensors'));
  assert.equal(report.length, SD15_LAYERS.length);
  for (const key of ['module', 'columns', 'method', 'inputs', 'weights', 'errors', 'directErrors', 'sparsity', 'pairs', 'normRatio', 'steps', 'loss', 'lambda', 'solver', 'evaluations', 'projectedGradientNorm', 'converged', 'gap', 'stop']) {
    assert.ok(key in report[0], `report lacks ${key}`);
  }
  assert.equal(metadata.ziplora_format, '2');
  assert.equal(typeof JSON.parse(metadata.ziplora_run).seconds, 'number');
  assert.equal(metadata.ziplora_merged_file, 'out.safetensors');
  // The solver's account per layer: its name, the gradient-equivalents within the cap, the convergence measure,
  // and a loss curve of one value per iteration plus the final one, ending at the reported loss.
  await withSafetensors(path.join(sub, 'out.ziplora.safetensors'), async (read) => {
    for (const r of report) {
      assert.equal(r.solver, 'newton');
      assert.ok(Number.isInteger(r.evaluations) && (r.evaluations as number) >= 1 && (r.evaluations as number) <= 100, `${r.module}: evaluations ${r.evaluations}`);
      assert.ok(typeof r.projectedGradientNorm === 'number' && r.projectedGradientNorm >= 0, `${r.module}: projectedGradientNorm ${r.projectedGradientNorm}`);
      assert.equal(typeof r.converged, 'boolean');
      // The certificate: a bound ≥ 0, and a certificate stop only where it is within the stated fraction of the loss.
      assert.ok(typeof r.gap === 'number' && r.gap >= 0, `${r.module}: gap ${r.gap}`);
      assert.ok(['certificate', 'tolerance', 'cap', 'stalled'].includes(r.stop as string), `${r.module}: stop ${r.stop}`);
      if (r.stop === 'certificate') assert.ok((r.gap as number) <= DEFAULT_GAP_FRACTION * (r.loss as number), `${r.module}: certified with gap ${r.gap}, loss ${r.loss}`);
      const curve = await read.readF32(`${r.module}.loss`);
      assert.equal(curve.length, (r.steps as number) + 1, `${r.module}: loss curve of ${curve.length} values for ${r.steps} iterations`);
      assert.equal(curve[curve.length - 1], r.loss);
      assert.ok(curve[curve.length - 1] < curve[0], `${r.module}: the loss did not fall`);
    }
  });
});

test('layers in only one file are copied through with their ΔW unchanged', async () => {
  const sub = path.join(dir, 'partial');
  mkdirSync(sub);
  const { content, style } = await writePair(sub, { contentLayers: SD15_LAYERS.slice(0, 3), styleLayers: SD15_LAYERS.slice(1), styleScheme: 'peft' });
  const output = path.join(sub, 'out.safetensors');
  const summary = await runMerge(mergeRequest(content, style, output));
  assert.deepEqual(summary.layers, { merged: 2, copied: [1, 2], notWritten: 0, refused: 0 });
  const [merged, c, s] = await Promise.all([denseLayers(output), denseLayers(content), denseLayers(style)]);
  const onlyContent = SD15_LAYERS[0].canonical;
  assert.ok(relativeError(merged.get(onlyContent)!.w, c.get(onlyContent)!.w) < 1e-6);
  for (const layer of SD15_LAYERS.slice(3)) assert.ok(relativeError(merged.get(layer.canonical)!.w, s.get(layer.canonical)!.w) < 1e-6, layer.canonical);
});

test('--rank reduces merged layers and reports the retained energy', async () => {
  const sub = path.join(dir, 'rank');
  mkdirSync(sub);
  const { content, style } = await writePair(sub);
  const output = path.join(sub, 'out.safetensors');
  await runMerge(mergeRequest(content, style, output, { rank: 3 }));
  const merged = await openLora(output);
  try {
    for (const layer of merged.lora.layers) assert.equal(layer.rank, Math.min(3, 2 * SD15_LAYERS.find((l) => l.canonical === layer.module)!.downShape[0]));
  } finally {
    await merged.file.close();
  }
  const { report } = await readSidecar(path.join(sub, 'out.ziplora.safetensors'));
  const reduced = report.filter((r) => 'retainedEnergy' in r);
  assert.equal(reduced.length, 5, 'every merged layer (rank 8, the 3×3 conv rank 4) was above rank 3');
  for (const r of reduced) assert.ok((r.retainedEnergy as number) > 0.3 && (r.retainedEnergy as number) < 1);
});

test('--rank 3 against a dense SVD: each layer is the best rank-3 approximation of its full merge, with the reported energy', async () => {
  const sub = path.join(dir, 'rank-dense');
  mkdirSync(sub);
  // The SD1.5 layers small enough for a quick dense float64 SVD: attn1.to_q and the 1×1 conv proj_in (320×320).
  const layers = [SD15_LAYERS[0], SD15_LAYERS[3]];
  const { content, style } = await writePair(sub, { contentLayers: layers, styleLayers: layers });
  const output = path.join(sub, 'out.safetensors');
  await runMerge(mergeRequest(content, style, output, { rank: 3 }));
  await checkAgainstDenseSvd(content, style, output, 3);
});

test('--rank-energy E: each layer gets the smallest rank keeping E of ‖ΔW‖² (against a dense SVD), the header written with those ranks', async () => {
  const sub = path.join(dir, 'rank-energy');
  mkdirSync(sub);
  const layers = [SD15_LAYERS[0], SD15_LAYERS[3]];
  const { content, style } = await writePair(sub, { contentLayers: layers, styleLayers: layers });
  const output = path.join(sub, 'out.safetensors');
  const summary = await runMerge(mergeRequest(content, style, output, { rankEnergy: 0.9 }));
  const [merged, c, s] = await Promise.all([denseLayers(output), denseLayers(content), denseLayers(style)]);
  const { coefficients, report } = await readSidecar(output.replace(/\.safetensors$/, '.ziplora.safetensors'));
  const lora = await openLora(output);
  const ranks = new Map(lora.lora.layers.map((l) => [l.module, l.rank]));
  await lora.file.close();
  for (const [module, { out, cols }] of merged) {
    const m = coefficients.get(module)!;
    const [wc, ws] = [c.get(module)!.w, s.get(module)!.w];
    const full = new Float64Array(out * cols);
    for (let i = 0; i < out; i++) for (let j = 0; j < cols; j++) full[i * cols + j] = m.mContent[j] * wc[i * cols + j] + m.mStyle[j] * ws[i * cols + j];
    const reference = denseSvd(full, out, cols);
    let k = 1;
    while (reference.retainedEnergy(k) < 0.9) k++;
    assert.equal(ranks.get(module), k, `${module}: rank written`);
    assert.ok(k < 8, `${module}: the energy cut lowered the rank`);
    const reported = report.find((r) => r.module === module)!.retainedEnergy as number;
    assert.ok(reported >= 0.9 && Math.abs(reported - reference.retainedEnergy(k)) < 1e-6, `${module}: retained energy ${reported}`);
    assert.ok(relativeFrobenius(merged.get(module)!.w, reference.bestRank(k)) < 1e-5, `${module}: not the best rank-${k} approximation`);
  }
  assert.ok(summary.fileBytes < summary.exactFileBytes, 'the summary shows the file against the exact (rank Σ r_i) output');
  assert.equal(summary.fileBytes, statSync(output).size);
});

/** Each reduced layer against a dense SVD of its full merged ΔW = m_c⊙ΔW_c + m_s⊙ΔW_s (input columns). */
async function checkAgainstDenseSvd(content: string, style: string, output: string, k: number) {
  const [merged, c, s] = await Promise.all([denseLayers(output), denseLayers(content), denseLayers(style)]);
  const { coefficients, report } = await readSidecar(output.replace(/\.safetensors$/, '.ziplora.safetensors'));
  for (const [module, { w, out, cols }] of merged) {
    const m = coefficients.get(module)!;
    const [wc, ws] = [c.get(module)!.w, s.get(module)!.w];
    const full = new Float64Array(out * cols);
    for (let i = 0; i < out; i++) for (let j = 0; j < cols; j++) full[i * cols + j] = m.mContent[j] * wc[i * cols + j] + m.mStyle[j] * ws[i * cols + j];
    const reference = denseSvd(full, out, cols);
    const reported = report.find((r) => r.module === module)!.retainedEnergy as number;
    assert.ok(Math.abs(reported - reference.retainedEnergy(k)) < 1e-6, `${module}: retained energy ${reported}, dense SVD ${reference.retainedEnergy(k)}`);
    const error = relativeFrobenius(w, reference.bestRank(k));
    assert.ok(error < 1e-5, `${module}: the rank-${k} layer differs from the best rank-${k} approximation by ${error}`);
  }
}

test('the two real SD1.5 LoRAs merge with all 128 layers paired', async (t) => {
  const a = path.join(REAL_FIXTURES, 'huggingface-diffusers__sd-pokemon-model-lora__pytorch_lora_weights.safetensors');
  const b = path.join(REAL_FIXTURES, 'catundchat-stable-diffusion-v1.5-lora__pytorch_lora_weights.safetensors');
  if (!hasFixtures(t, a, b)) return;
  const output = path.join(dir, 'real.safetensors');
  const summary = await runMerge(mergeRequest(a, b, output, { steps: 10 }));
  assert.deepEqual(summary.layers, { merged: 128, copied: [0, 0], notWritten: 0, refused: 0 });
  assert.ok(summary.meanErrors[0] + summary.meanErrors[1] < summary.meanDirectErrors[0] + summary.meanDirectErrors[1]);
  assert.ok(readdirSync(dir).includes('real.ziplora.safetensors'));
});
