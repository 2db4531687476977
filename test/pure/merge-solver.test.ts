/** The tfjs Adam solver (the paper's recipe) on every backend present against the float64 reference, for 2 to 4 inputs, and its known behaviours. */
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

const settings = (steps: number, lambda: number): BatchSettings => ({ solver: 'adam', steps, lambda, learningRate: 0.01 });

async function solve(backendName: BackendName, layers: LayerInput[], s: BatchSettings): Promise<LayerResult[]> {
  const results: LayerResult[] = [];
  await solveAll(await selectBackend(backendName), layers, s, { onLayerSolved: (i, r) => (results[i] = r) });
  return results;
}

const layers: LayerInput[] = [
  { inputs: [randomDelta(24, 16, 4, 1, 1.5), randomDelta(24, 16, 4, 2, 0.5)] },
  { inputs: [randomDelta(24, 16, 4, 3), randomDelta(24, 16, 4, 4)] },
  { inputs: [randomDelta(40, 8, 2, 5), randomDelta(40, 8, 6, 6)] },
  // Same in and ranks as the first two, another out: batched backends pad it into their batch.
  { inputs: [randomDelta(24, 7, 4, 9, 2), randomDelta(24, 7, 4, 10)] },
  // Three and four inputs, two of them sharing a batch.
  { inputs: [randomDelta(24, 16, 4, 11), randomDelta(24, 16, 2, 12, 1.4), randomDelta(24, 16, 4, 13)] },
  { inputs: [randomDelta(24, 9, 4, 14), randomDelta(24, 9, 2, 15), randomDelta(24, 9, 4, 16, 0.7)] },
  { inputs: [randomDelta(20, 12, 3, 17), randomDelta(20, 12, 3, 18), randomDelta(20, 12, 2, 19), randomDelta(20, 12, 4, 20, 1.6)] },
];

// float32 on the backends vs float64 here: Adam's normalised steps amplify rounding near zero gradients.
const TOLERANCE = 2e-3;

for (const backendName of ['wasm', 'cpu'] as const) {
  test(`${backendName}: 30 Adam steps follow the float64 reference (coefficients within ${TOLERANCE})`, async () => {
    const results = await solve(backendName, layers, settings(30, 0.1));
    layers.forEach((layer, i) => {
      const reference = referenceAdam(prepareLayer(layer), 30, 0.1, 0.01);
      const got = results[i];
      reference.m.forEach((m, k) => {
        for (let j = 0; j < m.length; j++) assert.ok(Math.abs(got.m[k][j] - m[j]) < TOLERANCE, `layer ${i} m_${k}[${j}] ${got.m[k][j]} vs ${m[j]}`);
        for (const v of got.m[k]) assert.ok(v >= 0 && v <= 1, `layer ${i}: coefficient ${v} outside the box`);
      });
      assert.equal(got.losses.length, 31);
      assert.ok(Math.abs(got.losses[0] - reference.losses[0]) < 1e-4 * Math.max(1, reference.losses[0]), `first loss ${got.losses[0]} vs ${reference.losses[0]}`);
      assert.ok(Math.abs(got.losses[30] - reference.losses[30]) < 1e-3, `final loss ${got.losses[30]} vs ${reference.losses[30]}`);
    });
  });
}

test('the backend measures give the same report as the float64 reference', async () => {
  const results = await solve('wasm', layers, settings(25, 0.05));
  const close = (a: unknown, b: unknown, what: string): void => {
    if (typeof b === 'number') assert.ok(Math.abs((a as number) - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
    else if (Array.isArray(b)) b.forEach((v, k) => close((a as unknown[])[k], v, `${what}[${k}]`));
    else if (b && typeof b === 'object') for (const key of Object.keys(b)) close((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${what}.${key}`);
    else assert.equal(a, b, what);
  };
  layers.forEach((layer, i) => {
    const fromBackend = reportFromResult('x', results[i]);
    const reference = layerReport({ module: 'x', layer: prepareLayer(layer), m: results[i].m, lambda: 0.05, steps: 25 });
    close(fromBackend, reference, `layer ${i}`);
    assert.equal(fromBackend.pairs.length, (layer.inputs.length * (layer.inputs.length - 1)) / 2);
  });
});

test('batches group equal (in, r_1..r_N) across out, largest out first, within the memory bound', () => {
  const shape = (inFeatures: number, outFeatures: number, ranks = [4, 4]) => ({ inFeatures, outFeatures, ranks });
  const shapes = [shape(24, 7), shape(24, 16), shape(40, 8, [2, 6]), shape(24, 16), shape(24, 16, [2, 2]), shape(24, 16, [4, 4, 4]), shape(24, 9, [4, 4, 4]), shape(24, 16, [4, 4, 2])];
  assert.deepEqual(planBatches(shapes, false), [[1, 3, 0], [2], [4], [5, 6], [7]]);
  assert.deepEqual(planBatches(shapes, true), [[1], [3], [0], [2], [4], [5], [6], [7]]);
  assert.deepEqual(planBatches(shapes, false, 8 * 24 * 2), [[1, 3], [0], [2], [4], [5], [6], [7]], 'at most two layers of R = 8, width 24');
});

test('zero steps from the direct weights is the direct merge', async () => {
  for (const layer of [layers[0], layers[4]]) {
    const [result] = await solve('wasm', [layer], settings(0, 0.01));
    assert.ok(result.m.every((m) => m.every((v) => v === 1)));
    assert.equal(result.losses.length, 1);
    assert.deepEqual(result.errors, result.directErrors);
    const reference = evaluateObjective(prepareLayer(layer), result.m, 0);
    result.errors.forEach((e, k) => assert.ok(Math.abs(e - reference.errors[k]) <= 1e-5 * reference.errors[k], `input ${k}: ${e} vs ${reference.errors[k]}`));
  }
});

test('orthogonal input subspaces: every coefficient stays ≥ 0.99 and the loss ≈ 0 without a penalty', async () => {
  // Content reads inputs 0…11, style reads 12…23: no column is shared, so nothing needs to give way.
  const layer = disjointInputsLayer(7, 8);
  const [free] = await solve('wasm', [layer], settings(100, 0));
  assert.ok(Math.min(...free.m.flatMap((m) => [...m])) >= 0.99, 'every coefficient');
  // m = 1 is the optimum here: the certificate proves it at the first step, and Adam takes none.
  assert.equal(free.stop, 'certificate');
  assert.equal(free.iterations, 0);
  assert.ok(free.losses[free.losses.length - 1] < 1e-9, `loss ${free.losses[free.losses.length - 1]}`);
  // With the default penalty, coefficients of the columns a LoRA does not read (zero columns) are free to
  // drop, and do; the fidelity stays ≈ 0 and the strong columns of each LoRA stay on.
  const [zipped] = await solve('wasm', [layer], settings(100, 0.01));
  assert.ok(evaluateObjective(prepareLayer(layer), zipped.m, 0).loss < 1e-3);
  assert.ok(Math.min(...zipped.m[0].slice(0, 12)) >= 0.99, 'content columns stay on');
  assert.ok(zipped.m[1].slice(0, 12).every((v) => v < 0.05), 'style coefficients over the columns style does not read drop');
});

test('coefficients stay in [0, 1] even under a large penalty', async () => {
  for (const layer of [layers[1], layers[6]]) {
    const [result] = await solve('wasm', [layer], settings(100, 5));
    const all = result.m.flatMap((m) => [...m]);
    for (const v of all) assert.ok(v >= 0 && v <= 1, String(v));
    assert.ok(Math.min(...all) < 0.5, 'a large penalty must pull coefficients down');
  }
});
