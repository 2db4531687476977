/**
 * The temporary two-way bridge (two-way-bridge.ts) that keeps the content/style pipeline running on the N-way
 * solver: its result and report are the N-way ones under the two-way names, and its direct merge with weights
 * starts at and is compared with those weights, as the two-way solver did.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/core/merge/backends';
import { reportFromResult } from '../../src/core/merge/layer-report';
import { solveTwoWayBatch, twoWayReportFromResult } from '../../src/core/merge/two-way-bridge';
import { solveBatch } from '../../src/core/merge/ziplora-solver';
import { evaluateObjective, prepareLayer } from '../support/objective';
import { randomDelta } from '../support/random-lora';

const content = randomDelta(24, 16, 4, 1, 1.5);
const style = randomDelta(24, 16, 3, 2, 0.5);

test('the bridge’s result and report are the N-way solver’s, named content and style', async () => {
  const backend = await selectBackend('wasm');
  const settings = { solver: 'newton' as const, steps: 100, lambda: 0.03, learningRate: 0.01 };
  const [twoWay] = await solveTwoWayBatch(backend, [{ content, style }], { ...settings, start: [1, 1], directWeights: [1, 1] }, async () => {});
  const [nWay] = await solveBatch(backend, [{ inputs: [content, style] }], settings, async () => {});
  assert.deepEqual([twoWay.mContent, twoWay.mStyle], nWay.m);
  assert.deepEqual([twoWay.contentError, twoWay.styleError], nWay.errors);
  assert.deepEqual([twoWay.directContentError, twoWay.directStyleError], nWay.directErrors);
  const old = twoWayReportFromResult('x', twoWay, {});
  const report = reportFromResult('x', nWay);
  assert.equal(old.meanAbsCosine, report.pairs[0].meanAbsCosine);
  assert.equal(old.overlapBefore, report.pairs[0].overlapBefore);
  assert.equal(old.overlapAfter, report.pairs[0].overlapAfter);
  assert.deepEqual([old.sparsityContent, old.sparsityStyle], report.sparsity);
  assert.ok(Math.abs(old.normRatio - report.normRatio) <= 1e-12, `${old.normRatio} vs ${report.normRatio}`);
  assert.equal(old.zipped + old.bothOn + old.bothOff, 1);
});

test('the bridge’s direct merge with weights: m = the weights, compared with itself', async () => {
  const backend = await selectBackend('wasm');
  const [direct] = await solveTwoWayBatch(backend, [{ content, style }], { solver: 'adam', steps: 0, lambda: 0, learningRate: 0.01, start: [0.5, 2], directWeights: [0.5, 2] }, async () => {});
  assert.ok(direct.mContent.every((v) => v === 0.5) && direct.mStyle.every((v) => v === 2));
  assert.equal(direct.contentError, direct.directContentError);
  const reference = evaluateObjective(prepareLayer({ inputs: [content, style] }), [new Array(24).fill(0.5), new Array(24).fill(2)], 0);
  assert.ok(Math.abs(direct.contentError - reference.errors[0]) <= 1e-5 * reference.errors[0]);
  // ZipLoRA from m = 1, compared with the direct merge at weights (0.8, 1.2).
  const [zip] = await solveTwoWayBatch(backend, [{ content, style }], { solver: 'newton', steps: 100, lambda: 0, learningRate: 0.01, start: [1, 1], directWeights: [0.8, 1.2] }, async () => {});
  const atWeights = evaluateObjective(prepareLayer({ inputs: [content, style] }), [new Array(24).fill(0.8), new Array(24).fill(1.2)], 0);
  assert.ok(Math.abs(zip.directContentError - atWeights.errors[0]) <= 1e-5 * atWeights.errors[0], `${zip.directContentError} vs ${atWeights.errors[0]}`);
  assert.ok(Math.abs(zip.directStyleError - atWeights.errors[1]) <= 1e-5 * atWeights.errors[1]);
});
