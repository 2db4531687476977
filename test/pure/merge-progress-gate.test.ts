/** The worker's progress gate: the first and last of a phase at once, the rest at most once per interval, none lost at the end of a burst. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MergePhase, MergeProgress } from '../../src/core/merge/request';
import { ProgressGate } from '../../src/worker/progress-gate';

const at = (phase: MergePhase, done: number, total = 10): MergeProgress => ({ phase, done, total, elapsedMs: 0 });

test('a burst sends its first event, then its latest once the interval is over; the last of a phase goes at once', async () => {
  const sent: MergeProgress[] = [];
  const gate = new ProgressGate((p) => sent.push(p), 40);
  for (let done = 1; done <= 5; done++) gate.offer(at('reading', done));
  gate.offer(at('writing', 1));
  assert.deepEqual(sent.map((p) => [p.phase, p.done]), [['reading', 1], ['writing', 1]], 'each phase is gated on its own');
  await sleep(80);
  assert.deepEqual(sent.map((p) => [p.phase, p.done]), [['reading', 1], ['writing', 1], ['reading', 5]], 'the held event is the latest');
  gate.offer(at('reading', 10));
  assert.deepEqual(sent.at(-1), at('reading', 10));
  gate.close();
});

test('close drops what is held back', async () => {
  const sent: MergeProgress[] = [];
  const gate = new ProgressGate((p) => sent.push(p), 20);
  gate.offer(at('optimising', 1));
  gate.offer(at('optimising', 2));
  gate.close();
  await sleep(50);
  assert.deepEqual(sent.map((p) => p.done), [1]);
});
