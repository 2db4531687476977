/** The tfjs Adam solver (the paper's recipe) on every backend present against the float64 reference, and its known behaviours. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendName, selectBackend } from '../../src/core/merge/backends';
import { evaluateObjective, prepareLayer } from '../support/objective';
import { reportFromResult } from '../../src/core/merge/layer-report';
import { layerReport } from '../support/reference-report';
import { BatchSettings, LayerInput, LayerResult, planBatches } from '../../src/core/merge/ziplora-solver';
import { solveAll } from '../support/solve-all';
import { disjointInputsLayer, randomDelta } from '../support/random-lora';
import { referenceAdam } from '../support/reference-adam';

const settings = (steps: number, lambda: number): BatchSettings => ({ solver: 'adam', steps, lambda, learningRate: 0.01, start: [1, 1], directWeights: [1, 1] });

async function solve(backendName: BackendName, layers: LayerInput[], s: BatchSettings): Promise<LayerResult[]> {
  const results: LayerResult[] = [];
  await solveAll(await selectBackend(backendName), layers, s, { onLayerSolved: (i, r) => (results[i] = r) });
  return results;
}

const layers: LayerInput[] = [
  { content: randomDelta(24, 16, 4, 1, 1.5), style: randomDelta(24, 16, 4, 2, 0.5) },
  { content: randomDelta(24, 16, 4, 3), style: randomDelta(24, 16, 4, 4) },
  { content: randomDelta(40, 8, 2, 5), style: randomDelta(40, 8, 6, 6) },
  // Same in and ranks as the first two, another out: batched backends pad it into their batch.
  { content: randomDelta(24, 7, 4, 9, 2), style: randomDelta(24, 7, 4, 10) },
];

// float32 on the backends vs float64 here: Adam's normalised steps amplify rounding near zero gradients.
const TOLERANCE = 2e-3;

for (const backendName of ['wasm', 'cpu'] as const) {
  test(`${backendName}: 30 Adam steps follow the float64 reference (coefficients within ${TOLERANCE})`, async () => {
    const results = await solve(backendName, layers, settings(30, 0.1));
    layers.forEach((layer, i) => {
      const reference = referenceAdam(prepareLayer(layer), 30, 0.1, 0.01);
      const got = results[i];
      for (let j = 0; j < layer.content.inFeatures; j++) {
        assert.ok(Math.abs(got.mContent[j] - reference.mContent[j]) < TOLERANCE, `layer ${i} m_c[${j}] ${got.mContent[j]} vs ${reference.mContent[j]}`);
        assert.ok(Math.abs(got.mStyle[j] - reference.mStyle[j]) < TOLERANCE, `layer ${i} m_s[${j}]`);
      }
      assert.equal(got.losses.length, 31);
      assert.ok(Math.abs(got.losses[0] - reference.losses[0]) < 1e-4 * Math.max(1, reference.losses[0]), `first loss ${got.losses[0]} vs ${reference.losses[0]}`);
      assert.ok(Math.abs(got.losses[30] - reference.losses[30]) < 1e-3, `final loss ${got.losses[30]} vs ${reference.losses[30]}`);
    });
  });
}

test('the backend measures give the same report as the float64 reference', async () => {
  const results = await solve('wasm', layers, { ...settings(25, 0.05), directWeights: [0.8, 1.2] });
  layers.forEach((layer, i) => {
    const fromBackend = reportFromResult('x', results[i], { directWeights: [0.8, 1.2] });
    const reference = layerReport({ module: 'x', layer: prepareLayer(layer), mContent: results[i].mContent, mStyle: results[i].mStyle, lambda: 0.05, steps: 25, directWeights: [0.8, 1.2] });
    for (const key of Object.keys(reference) as (keyof typeof reference)[]) {
      const [a, b] = [fromBackend[key], reference[key]];
      if (typeof b === 'number') assert.ok(Math.abs((a as number) - b) <= 1e-4 * Math.max(1, Math.abs(b)), `layer ${i} ${key}: ${a} vs ${b}`);
      else assert.equal(a, b);
    }
  });
});

test('batches group equal (in, r_c, r_s) across out, largest out first, within the memory bound', () => {
  const shape = (inFeatures: number, outFeatures: number, rankContent = 4, rankStyle = 4) => ({ inFeatures, outFeatures, rankContent, rankStyle });
  const shapes = [shape(24, 7), shape(24, 16), shape(40, 8, 2, 6), shape(24, 16), shape(24, 16, 2, 2)];
  assert.deepEqual(planBatches(shapes, false), [[1, 3, 0], [2], [4]]);
  assert.deepEqual(planBatches(shapes, true), [[1], [3], [0], [2], [4]]);
  assert.deepEqual(planBatches(shapes, false, 8 * 24 * 2), [[1, 3], [0], [2], [4]], 'at most two layers of R = 8, width 24');
});

test('zero steps from the direct weights is the direct merge', async () => {
  const [result] = await solve('wasm', [layers[0]], { ...settings(0, 0.01), start: [0.5, 2], directWeights: [0.5, 2] });
  assert.ok(result.mContent.every((v) => v === 0.5) && result.mStyle.every((v) => v === 2));
  assert.equal(result.losses.length, 1);
  assert.equal(result.contentError, result.directContentError);
});

test('orthogonal input subspaces: every coefficient stays ≥ 0.99 and the loss ≈ 0 without a penalty', async () => {
  // Content reads inputs 0…11, style reads 12…23: no column is shared, so nothing needs to give way.
  const layer = disjointInputsLayer(7, 8);
  const [free] = await solve('wasm', [layer], settings(100, 0));
  assert.ok(Math.min(...free.mContent, ...free.mStyle) >= 0.99, 'every coefficient');
  assert.ok(free.losses[100] < 1e-9, `loss ${free.losses[100]}`);
  // With the default penalty, coefficients of the columns a LoRA does not read (zero columns) are free to
  // drop, and do; the fidelity stays ≈ 0 and the strong columns of each LoRA stay on.
  const [zipped] = await solve('wasm', [layer], settings(100, 0.01));
  assert.ok(evaluateObjective(prepareLayer(layer), zipped.mContent, zipped.mStyle, 0).loss < 1e-3);
  assert.ok(Math.min(...zipped.mContent.slice(0, 12)) >= 0.99, 'content columns stay on');
  assert.ok(zipped.mStyle.slice(0, 12).every((v) => v < 0.05), 'style coefficients over the columns style does not read drop');
});

test('coefficients stay in [0, 1] even under a large penalty', async () => {
  const [result] = await solve('wasm', [layers[1]], settings(100, 5));
  for (const v of [...result.mContent, ...result.mStyle]) assert.ok(v >= 0 && v <= 1, String(v));
  assert.ok(Math.min(...result.mContent, ...result.mStyle) < 0.5, 'a large penalty must pull coefficients down');
});
