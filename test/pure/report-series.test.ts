/** What the ZipLoRA tab draws from an N-way report: input and pair names, per-layer series with gaps, the λ summary. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerReport } from '../../src/core/merge/layer-report';
import { inputLabels, inputValues, lambdaSummary, pairValues, reportedPairs } from '../../src/core/view/report-series';

function layer(module: string, inputs: number[], extra: Partial<LayerReport> = {}): LayerReport {
  const pairs = inputs.flatMap((a, x) => inputs.slice(x + 1).map((b) => ({ a, b, meanAbsCosine: a + b, overlapBefore: 0.5, overlapAfter: 0.1 * (a + b) })));
  return { module, columns: 8, method: 'zip', inputs, weights: inputs.map(() => 1), errors: inputs.map((i) => i / 10), directErrors: inputs.map(() => 1), sparsity: inputs.map((i) => i / 4), pairs, normRatio: 1, steps: 1, loss: 0, lambda: 0.03, ...extra };
}

test('two inputs are content and style; more are numbered with their file stems', () => {
  assert.deepEqual(inputLabels(['a.safetensors', 'b.safetensors']), ['content', 'style']);
  assert.deepEqual(inputLabels(['/x/subject.safetensors', 'C:\\y\\style.SAFETENSORS', 'light']), ['1 subject', '2 style', '3 light']);
});

test('series by input and by pair leave gaps where a layer lacks an input', () => {
  const layers = [layer('m0', [0, 1, 2]), layer('m1', [0, 2]), layer('m2', [1, 2])];
  assert.deepEqual(reportedPairs([layers[2], layers[1], layers[0]]), [[0, 1], [0, 2], [1, 2]]);
  assert.deepEqual(inputValues(layers, 1, (l) => l.sparsity), [0.25, null, 0.25]);
  assert.deepEqual(inputValues(layers, 2, (l) => l.errors), [0.2, 0.2, 0.2]);
  assert.deepEqual(pairValues(layers, [0, 2], (p) => p.meanAbsCosine), [2, 2, null]);
  assert.deepEqual(pairValues(layers, [1, 2], (p) => p.overlapAfter), [0.30000000000000004, null, 0.30000000000000004]);
});

test('λ summary: the layers\' paths summed (or the sidecar\'s), the λ most layers chose, the direct bound', () => {
  const path = (scale: number) => [0.1, 0, 0.03].map((lambda) => ({ lambda, error: scale * (1 + lambda), overlap: scale * (1 - lambda) }));
  const layers = [
    layer('a', [0, 1], { lambda: 0.03, lambdaCurve: path(1) }),
    layer('b', [0, 1], { lambda: 0, lambdaCurve: path(2) }),
    layer('c', [0, 1], { lambda: 0.03, lambdaCurve: path(3) }),
    layer('d', [0, 1], { lambda: 0.01 }), // merged at one λ: no path, not counted
  ];
  const summary = lambdaSummary(layers)!;
  assert.deepEqual(summary.points.map((p) => p.lambda), [0, 0.03, 0.1], 'in increasing λ');
  assert.ok(Math.abs(summary.points[1].error - 6 * 1.03) < 1e-12);
  assert.ok(Math.abs(summary.points[1].overlap - 2 * 0.97) < 1e-12, 'the overlap is the layers\' mean, a share');
  assert.deepEqual([summary.chosen, summary.chosenLayers, summary.layers], [0.03, 2, 3]);
  assert.equal(summary.directError, 6, 'Σ over the 3 layers with a path of Σ_i direct error (1 + 1)');
  const tie = lambdaSummary([layers[0], layers[1]])!;
  assert.equal(tie.chosen, 0.03, 'a tie goes to the larger λ');
  const fromFile = lambdaSummary(layers, [{ lambda: 0.1, error: 9, overlap: 1 }, { lambda: 0, error: 1, overlap: 3 }])!;
  assert.deepEqual(fromFile.points, [{ lambda: 0, error: 1, overlap: 3 }, { lambda: 0.1, error: 9, overlap: 1 }]);
  assert.equal(lambdaSummary([layers[3]]), null, 'no path: no λ chart');
});
