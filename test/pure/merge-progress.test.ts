/** The pieces of a truthful progress display: the time left weighs layers by their work; the view never goes back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTimeLeft, MergeProgressTracker } from '../../src/core/format/merge-progress';
import { LayerFlow } from '../../src/core/merge/layer-flow';
import { LayerOutput } from '../../src/core/merge/layer-job';
import { RemainingTime } from '../../src/core/merge/remaining-time';

test('the time left weighs each solved layer by its work, whatever the order', () => {
  const estimate = new RemainingTime([1, 3, 4], 1000);
  assert.equal(estimate.estimate(2000), undefined, 'nothing solved yet');
  estimate.solved(1); // 3 of 8 units in 3 s: 5 units left take 5 s
  assert.equal(estimate.estimate(4000), 5000);
  estimate.solved(0);
  estimate.solved(2);
  assert.equal(estimate.estimate(9000), 0);
});

test('the time left reads as people say it', () => {
  assert.deepEqual([400, 42_000, 65_000, 2 * 3600_000 + 60_000].map(formatTimeLeft), ['under a second left', 'about 42 s left', 'about 1 min 5 s left', 'about 2 h 1 min left']);
});

test('the progress view leads with layers solved; reading shows only before, writing, hashing and the sidecar only after', () => {
  const tracker = new MergeProgressTracker();
  const at = { elapsedMs: 0 };
  assert.deepEqual(tracker.update({ ...at, phase: 'reading', done: 1, total: 4 }), { fraction: 0, text: 'reading layer 1 of 4' });
  assert.equal(tracker.update({ ...at, phase: 'writing', done: 1, total: 12 }), undefined, 'writing trails the solving');
  assert.deepEqual(tracker.update({ ...at, phase: 'optimising', done: 2, total: 4, remainingMs: 42_000 }), { fraction: 0.5, text: '2 of 4 layers solved · about 42 s left' });
  assert.equal(tracker.update({ ...at, phase: 'reading', done: 4, total: 4 }), undefined);
  assert.deepEqual(tracker.update({ ...at, phase: 'optimising', done: 4, total: 4, remainingMs: 0 }), { fraction: 1, text: '4 of 4 layers solved · under a second left' });
  assert.deepEqual(tracker.update({ ...at, phase: 'writing', done: 11, total: 12 }), { fraction: 1, text: 'writing tensor 11 of 12' }, 'never goes back');
  assert.deepEqual(tracker.update({ ...at, phase: 'hashing', done: 0, total: 1 }), { fraction: 1, text: 'hashing the inputs' });
  assert.deepEqual(tracker.update({ ...at, phase: 'writing-sidecar', done: 3, total: 10 }), { fraction: 1, text: 'writing the coefficients (3 of 10)' });
});

const output = {} as LayerOutput;
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('the flow holds at most its limit of layers, but always lets through the one the writer waits for', async () => {
  const flow = new LayerFlow(4, 1);
  await flow.admit([0]);
  let admitted = false;
  const second = flow.admit([1]).then(() => (admitted = true));
  await settle();
  assert.equal(admitted, false, 'the window is full');
  flow.deliver(0, output);
  assert.equal(await flow.take(0), output);
  flow.written(0);
  await assert.rejects(flow.take(0), /layer 0 was taken after it was written/, 'a written layer is let go');
  await second;
  // Layer 2 is wanted while layer 1 still waits to be written: its batch goes through, or the writer would wait forever.
  const third = flow.take(2);
  await flow.admit([2]);
  flow.deliver(2, output);
  assert.equal(await third, output);
  flow.fail(new Error('stopped'));
  await assert.rejects(flow.admit([3]), /stopped/);
  await assert.rejects(flow.take(3), /stopped/);
});
