/** The factored N-way objective against a dense reference, and its gradient against finite differences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateObjective, prepareLayer } from '../support/objective';
import { FactoredDelta, orientForColumns } from '../../src/core/merge/types';
import { denseLoss, randomDelta, seededRandom } from '../support/random-lora';

const relClose = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-12), `${what}: ${a} vs ${b}`);

const randomCoefficients = (count: number, n: number, seed: number, low = 0, high = 1) => {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Array.from({ length: n }, () => low + (high - low) * random()));
};

test('loss terms equal the dense computation of docs/merge-method.md §2 on small layers, for 2, 3 and 4 inputs', () => {
  for (const [n, out, ranks] of [[12, 9, [3, 2]], [20, 30, [4, 4]], [7, 5, [1, 3]], [12, 9, [3, 2, 4]], [10, 14, [2, 2, 1, 3]]] as const) {
    const inputs = ranks.map((r, i) => randomDelta(n, out, r, 100 * (i + 1) + n, 0.7 + 0.6 * i));
    const m = randomCoefficients(inputs.length, n, 11 + ranks.length);
    const dense = denseLoss(inputs, m, 0.3);
    const factored = evaluateObjective(prepareLayer({ inputs }), m, 0.3);
    factored.errors.forEach((e, i) => relClose(e, dense.errors[i], 1e-6, `N = ${inputs.length}, input ${i} error`));
    relClose(factored.penalty, dense.penalty, 1e-12, 'penalty');
    relClose(factored.loss, dense.loss, 1e-6, 'loss');
  }
});

test('output-feature columns equal the dense loss with rows scaled, via the transposed problem', () => {
  const inputs: FactoredDelta[] = [randomDelta(10, 6, 2, 5), randomDelta(10, 6, 3, 6), randomDelta(10, 6, 1, 7)].map((d) => orientForColumns(d, 'output'));
  const m = randomCoefficients(3, 6, 3);
  const dense = denseLoss(inputs, m, 0);
  const factored = evaluateObjective(prepareLayer({ inputs }), m, 0);
  factored.errors.forEach((e, i) => relClose(e, dense.errors[i], 1e-6, `input ${i}`));
});

test('the analytic gradient matches central finite differences, for 2 and 3 inputs', () => {
  const n = 9;
  for (const ranks of [[3, 2], [3, 2, 4]]) {
    const inputs = ranks.map((r, i) => randomDelta(n, 7, r, 21 + i, 1.3 - 0.3 * i));
    const layer = prepareLayer({ inputs });
    const m = randomCoefficients(inputs.length, n, 5, 0.2, 0.8);
    const { gradients } = evaluateObjective(layer, m, 0.5);
    const h = 1e-6;
    m.forEach((_, i) => {
      for (let j = 0; j < n; j++) {
        const at = (delta: number) => evaluateObjective(layer, m.map((c, k) => (k === i ? c.map((v, l) => (l === j ? v + delta : v)) : c)), 0.5).loss;
        const numeric = (at(h) - at(-h)) / (2 * h);
        assert.ok(Math.abs(gradients[i][j] - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric), `N = ${inputs.length}, m_${i}[${j}]: ${gradients[i][j]} vs ${numeric}`);
      }
    });
  }
});

test('at m = 1 (the direct merge) an input’s error is the others seen through its inputs; alone it is exact', () => {
  const inputs = [randomDelta(8, 8, 2, 1), randomDelta(8, 8, 2, 2), randomDelta(8, 8, 2, 3)];
  const ones = inputs.map(() => new Array(8).fill(1));
  const value = evaluateObjective(prepareLayer({ inputs }), ones, 0);
  const dense = denseLoss(inputs, ones, 0);
  value.errors.forEach((e, i) => relClose(e, dense.errors[i], 1e-6, `input ${i}`));
  assert.ok(value.errors.every((e) => e > 0));
  const onlyFirst = evaluateObjective(prepareLayer({ inputs }), [ones[0], new Array(8).fill(0), new Array(8).fill(0)], 0);
  assert.ok(onlyFirst.errors[0] < 1e-12, 'without the other inputs the first is reproduced exactly');
});
