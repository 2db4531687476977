/** Per-layer N-way report measures against dense computations. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerReport } from '../support/reference-report';
import { prepareLayer } from '../support/objective';
import { denseDelta, denseLoss, randomDelta, seededRandom } from '../support/random-lora';

test('every pair’s cosine and overlaps, the norm ratio, errors and sparsity match dense column computations (3 inputs)', () => {
  const n = 15;
  const out = 11;
  const inputs = [randomDelta(n, out, 3, 31, 1.2), randomDelta(n, out, 2, 32, 0.6), randomDelta(n, out, 4, 33)];
  const random = seededRandom(9);
  const m = [
    Array.from({ length: n }, (_, j) => (j % 4 === 0 ? 0.01 : 0.1 + 0.9 * random())),
    Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.02 : 0.1 + 0.9 * random())),
    Array.from({ length: n }, (_, j) => (j % 5 === 0 ? 0.03 : 0.1 + 0.9 * random())),
  ];
  const report = layerReport({ module: 'x', layer: prepareLayer({ inputs }), m, lambda: 0.2, steps: 7 });
  const dense = inputs.map(denseDelta);
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  assert.deepEqual(report.pairs.map((p) => [p.a, p.b]), [[0, 1], [0, 2], [1, 2]]);
  for (const pair of report.pairs) {
    const [wa, wb] = [dense[pair.a], dense[pair.b]];
    let cos = 0;
    let before = 0;
    let after = 0;
    let norms = 0;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let i = 0; i < out; i++) {
        dot += wa[i * n + j] * wb[i * n + j];
        na += wa[i * n + j] ** 2;
        nb += wb[i * n + j] ** 2;
      }
      cos += Math.abs(dot) / Math.sqrt(na * nb);
      before += Math.abs(dot);
      after += Math.abs(m[pair.a][j] * m[pair.b][j] * dot);
      norms += Math.sqrt(na * nb);
    }
    close(pair.meanAbsCosine, cos / n, `mean |cos| ${pair.a}-${pair.b}`);
    close(pair.overlapBefore, before / norms, `overlap before ${pair.a}-${pair.b}`);
    close(pair.overlapAfter, after / norms, `overlap after ${pair.a}-${pair.b}`);
  }
  const merged = denseLoss(inputs, m, 0.2);
  merged.errors.forEach((e, i) => close(report.errors[i], e, `error ${i}`));
  close(report.loss, merged.loss, 'loss');
  const direct = denseLoss(inputs, inputs.map(() => new Array(n).fill(1)), 0);
  direct.errors.forEach((e, i) => close(report.directErrors[i], e, `direct error ${i}`));
  const norm = (w: Float64Array) => Math.sqrt(w.reduce((a, v) => a + v * v, 0));
  close(report.normRatio, norm(merged.merged) / norm(direct.merged), 'norm ratio');
  assert.deepEqual(report.sparsity, [4 / 15, 5 / 15, 3 / 15]);
  assert.equal(report.steps, 7);
});
