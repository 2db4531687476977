/** Per-layer report measures against dense computations. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerReport } from '../support/reference-report';
import { prepareLayer } from '../support/objective';
import { denseDelta, denseLoss, randomDelta, seededRandom } from '../support/random-lora';

test('cosines, overlaps, norm ratio and sparsity match dense column computations', () => {
  const n = 15;
  const out = 11;
  const content = randomDelta(n, out, 3, 31, 1.2);
  const style = randomDelta(n, out, 2, 32, 0.6);
  const random = seededRandom(9);
  const mc = Array.from({ length: n }, (_, j) => (j % 4 === 0 ? 0.01 : 0.1 + 0.9 * random()));
  const ms = Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.02 : 0.1 + 0.9 * random()));
  const report = layerReport({ module: 'x', layer: prepareLayer({ content, style }), mContent: mc, mStyle: ms, lambda: 0.2, steps: 7 });
  const wc = denseDelta(content);
  const ws = denseDelta(style);
  let cos = 0;
  let before = 0;
  let after = 0;
  let norms = 0;
  for (let j = 0; j < n; j++) {
    let dot = 0;
    let nc = 0;
    let ns = 0;
    for (let i = 0; i < out; i++) {
      dot += wc[i * n + j] * ws[i * n + j];
      nc += wc[i * n + j] ** 2;
      ns += ws[i * n + j] ** 2;
    }
    cos += Math.abs(dot) / Math.sqrt(nc * ns);
    before += Math.abs(dot);
    after += Math.abs(mc[j] * ms[j] * dot);
    norms += Math.sqrt(nc * ns);
  }
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  close(report.meanAbsCosine, cos / n, 'mean |cos|');
  close(report.overlapBefore, before / norms, 'overlap before');
  close(report.overlapAfter, after / norms, 'overlap after');
  const dense = denseLoss(content, style, mc, ms, 0.2);
  close(report.contentError, dense.contentError, 'content error');
  close(report.loss, dense.loss, 'loss');
  const direct = denseLoss(content, style, new Array(n).fill(1), new Array(n).fill(1), 0);
  close(report.directContentError, direct.contentError, 'direct content error');
  close(report.directStyleError, direct.styleError, 'direct style error');
  const directNorm = Math.sqrt(direct.merged.reduce((a, v) => a + v * v, 0));
  close(report.normRatio, Math.sqrt(dense.merged.reduce((a, v) => a + v * v, 0)) / directNorm, 'norm ratio');
  assert.equal(report.sparsityContent, 4 / 15);
  assert.equal(report.sparsityStyle, 5 / 15);
  assert.equal(report.bothOff, 2 / 15, 'columns 0 and 12 are off in both');
  assert.equal(report.zipped + report.bothOn + report.bothOff, 1);
  assert.equal(report.steps, 7);
});
