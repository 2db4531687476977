/** The factored objective against a dense reference, and its gradient against finite differences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateObjective, prepareLayer } from '../support/objective';
import { orientForColumns } from '../../src/core/merge/types';
import { denseLoss, randomDelta, seededRandom } from '../support/random-lora';

const relClose = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-12), `${what}: ${a} vs ${b}`);

test('loss terms equal the dense computation of docs/merge-method.md §2 on small layers', () => {
  const random = seededRandom(11);
  for (const [n, out, rc, rs] of [[12, 9, 3, 2], [20, 30, 4, 4], [7, 5, 1, 3]]) {
    const content = randomDelta(n, out, rc, 100 + n, 0.7);
    const style = randomDelta(n, out, rs, 200 + n, 1.9);
    const mc = Array.from({ length: n }, () => random());
    const ms = Array.from({ length: n }, () => random());
    const dense = denseLoss(content, style, mc, ms, 0.3);
    const factored = evaluateObjective(prepareLayer({ content, style }), mc, ms, 0.3);
    relClose(factored.contentError, dense.contentError, 1e-6, 'content error');
    relClose(factored.styleError, dense.styleError, 1e-6, 'style error');
    relClose(factored.penalty, dense.penalty, 1e-12, 'penalty');
    relClose(factored.loss, dense.loss, 1e-6, 'loss');
  }
});

test('output-feature columns equal the dense loss with rows scaled, via the transposed problem', () => {
  const content = randomDelta(10, 6, 2, 5);
  const style = randomDelta(10, 6, 3, 6);
  const random = seededRandom(3);
  const mc = Array.from({ length: 6 }, () => random());
  const ms = Array.from({ length: 6 }, () => random());
  const transposed = { content: orientForColumns(content, 'output'), style: orientForColumns(style, 'output') };
  const dense = denseLoss(transposed.content, transposed.style, mc, ms, 0);
  // Dense in the original orientation: scale rows, and stand in for inputs with ΔW·ΔWᵀ on the other side.
  const factored = evaluateObjective(prepareLayer(transposed), mc, ms, 0);
  relClose(factored.contentError, dense.contentError, 1e-6, 'content');
  relClose(factored.styleError, dense.styleError, 1e-6, 'style');
});

test('the analytic gradient matches central finite differences', () => {
  const n = 9;
  const content = randomDelta(n, 7, 3, 21, 1.3);
  const style = randomDelta(n, 7, 2, 22, 0.8);
  const layer = prepareLayer({ content, style });
  const random = seededRandom(5);
  const mc = Array.from({ length: n }, () => 0.2 + 0.6 * random());
  const ms = Array.from({ length: n }, () => 0.2 + 0.6 * random());
  const { gradContent, gradStyle } = evaluateObjective(layer, mc, ms, 0.5);
  const h = 1e-6;
  for (let j = 0; j < n; j++) {
    for (const [m, grad, name] of [[mc, gradContent, 'm_c'], [ms, gradStyle, 'm_s']] as const) {
      const plus = [...m];
      const minus = [...m];
      plus[j] += h;
      minus[j] -= h;
      const lossAt = (v: number[]) => (name === 'm_c' ? evaluateObjective(layer, v, ms, 0.5) : evaluateObjective(layer, mc, v, 0.5)).loss;
      const numeric = (lossAt(plus) - lossAt(minus)) / (2 * h);
      assert.ok(Math.abs(grad[j] - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric), `${name}[${j}]: ${grad[j]} vs ${numeric}`);
    }
  }
});

test('at m = 1 (the direct merge) the content error is the style LoRA seen through the content inputs', () => {
  const content = randomDelta(8, 8, 2, 1);
  const style = randomDelta(8, 8, 2, 2);
  const ones = new Array(8).fill(1);
  const value = evaluateObjective(prepareLayer({ content, style }), ones, ones, 0);
  const dense = denseLoss(content, style, ones, ones, 0);
  relClose(value.contentError, dense.contentError, 1e-6, 'content');
  assert.ok(value.contentError > 0);
  const zero = evaluateObjective(prepareLayer({ content, style }), ones, new Array(8).fill(0), 0);
  assert.ok(zero.contentError < 1e-12, 'without the style LoRA the content is reproduced exactly');
});
