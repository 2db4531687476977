/**
 * An input rewritten while the merge reads it (a trainer saving its next epoch over the file), through the
 * worker as the extension and the CLI run it: the worker stalls after its first solved batch
 * (src/worker/test-phase-delay.ts) and the test changes the content file then — in place with the same size, by
 * appending, or by renaming a new file over it. The merge fails with one line naming the file and leaves the
 * output folder as it was. Unchanged, the sha256 the output records is that of the input's bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sidecarPathFor } from '../../src/core/merge/request';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { startMerge } from '../../src/worker/client';
import { tempDir } from '../support/build-safetensors';
import { withPhaseDelay } from '../support/interrupt';
import { mergeRequest, writePair } from '../support/merge-fixtures';

const root = tempDir('changed-input-');

/** Ways a file changes under a reader; each leaves different bytes at the path. */
const CHANGES: Record<string, (file: string) => void> = {
  'rewritten in place, same size': (file) => {
    const handle = openSync(file, 'r+');
    const size = readFileSync(file).byteLength;
    writeSync(handle, Buffer.alloc(64, 0x7f), 0, 64, size - 64);
    closeSync(handle);
  },
  'grown by a write at its end': (file) => appendFileSync(file, Buffer.alloc(4096, 1)),
  'replaced by renaming a new file over it': (file) => {
    const next = `${file}.next`;
    writeFileSync(next, Buffer.concat([readFileSync(file), Buffer.alloc(8, 0x20)]));
    renameSync(next, file);
  },
};

async function mergeWhile(dir: string, change?: (file: string) => void) {
  const { content, style } = await writePair(dir);
  const out = path.join(dir, 'out');
  mkdirSync(out);
  const output = path.join(out, 'merged.safetensors');
  let changed = false;
  const running = withPhaseDelay('optimising', 800, () =>
    startMerge(mergeRequest(content, style, output, { threads: 1 }), {
      onProgress: (p) => {
        if (p.phase !== 'optimising' || changed || !change) return;
        changed = true;
        change(content);
      },
    }),
  );
  return { content, output, out, result: running.result.then(() => undefined, (error: Error) => error), changed: () => changed };
}

for (const [how, change] of Object.entries(CHANGES)) {
  test(`the content LoRA ${how} during the merge: one line naming it, nothing left behind`, { timeout: 90_000 }, async () => {
    const dir = path.join(root, how.replace(/[^a-z]+/g, '-'));
    mkdirSync(dir);
    const run = await mergeWhile(dir, change);
    const error = await run.result;
    assert.ok(run.changed(), 'the merge ended before the input was changed');
    assert.ok(error, 'the merge succeeded although its input changed');
    assert.equal(error.message, `${run.content}: changed while it was being read (its size, modification time or identity differs from when the merge started); nothing was written — wait until it is saved in full, then merge again`);
    assert.deepEqual(readdirSync(run.out), []);
  });
}

test('an input left alone: the merge succeeds and records the sha256 of the bytes it read', { timeout: 90_000 }, async () => {
  const dir = path.join(root, 'unchanged');
  mkdirSync(dir);
  const run = await mergeWhile(dir);
  assert.equal(await run.result, undefined);
  const sources = await withSafetensors(run.output, async (read) => JSON.parse(read.metadata.ziplora_inputs) as { file: string; sha256: string }[]);
  assert.equal(sources[0].sha256, createHash('sha256').update(readFileSync(run.content)).digest('hex'));
  assert.deepEqual(readdirSync(run.out).sort(), [path.basename(run.output), path.basename(sidecarPathFor(run.output))].sort());
});
