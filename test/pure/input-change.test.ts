/** How a failed merge is explained when an input changed under it (src/core/input-change.ts), without a merge. */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { InputChangedError, InputWatch } from '../../src/core/input-change';
import { tempDir } from '../support/build-safetensors';

function watchedPair(): { content: string; style: string } {
  const dir = tempDir();
  const content = path.join(dir, 'content.safetensors');
  const style = path.join(dir, 'style.safetensors');
  writeFileSync(content, 'content bytes');
  writeFileSync(style, 'style bytes');
  return { content, style };
}

test('unchanged inputs: a failure is reported as it is, and checkUnchanged discards nothing', async () => {
  const { content, style } = watchedPair();
  const watch = await InputWatch.start([content, style]);
  const failure = new Error('short read');
  assert.equal(await watch.explain(failure), failure);
  let discarded = false;
  await watch.checkUnchanged(async () => void (discarded = true));
  assert.equal(discarded, false);
});

test('a changed input replaces the read failure it caused, naming the file', async () => {
  const { content, style } = watchedPair();
  const watch = await InputWatch.start([content, style]);
  appendFileSync(style, ' and the next epoch');
  const explained = await watch.explain(new Error('garbled header'));
  assert.ok(explained instanceof InputChangedError);
  assert.match((explained as Error).message, /style\.safetensors.*changed while it was being read/);
});

test('a cancel stays a cancel, even when an input changed', async () => {
  const { content, style } = watchedPair();
  const watch = await InputWatch.start([content, style]);
  appendFileSync(content, '!');
  const cancelled = new Error('cancelled');
  assert.equal(await watch.explain(cancelled, true), cancelled);
});

test('checkUnchanged discards the staged output, then fails naming the changed file', async () => {
  const { content, style } = watchedPair();
  const watch = await InputWatch.start([content, style]);
  writeFileSync(content, 'rewritten, longer than before');
  let discarded = false;
  await assert.rejects(watch.checkUnchanged(async () => void (discarded = true)), (error: Error) => error instanceof InputChangedError && error.message.includes('content.safetensors'));
  assert.equal(discarded, true);
});
