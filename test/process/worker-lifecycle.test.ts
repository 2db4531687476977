/** The worker's temporary files when its parent disappears, and leftovers of a writer that died with the machine. */
import assert from 'node:assert/strict';
import { ChildProcess, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { partialWriterPid, removeStalePartials } from '../../src/core/temporary-files';
import { startMerge, workerEntry } from '../../src/worker/client';
import { tempDir } from '../support/build-safetensors';
import { isRunning, waitForExit } from '../support/interrupt';
import { mergeRequest, writePair } from '../support/merge-fixtures';

const SUPPORT = path.join(__dirname, '..', 'support');

function firstMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`exited (${code}) before reporting`)));
  });
}

/** A pid that has certainly ended: a child that ran and was reaped. */
function deadPid(): number {
  const done = spawnSync(process.execPath, ['-e', '']);
  assert.ok(done.pid && !isRunning(done.pid));
  return done.pid;
}

test('a worker whose parent closes the IPC channel removes its temporary file and exits', async () => {
  const dir = tempDir('lifecycle-disconnect-');
  const child = fork(path.join(SUPPORT, 'disconnect-child.ts'), [path.join(dir, 'out.safetensors')], { execArgv: ['--import', 'tsx'] });
  const { temporary, pid } = await firstMessage<{ temporary: string; pid: number }>(child);
  assert.ok(existsSync(temporary), 'the temporary file exists while the worker runs');
  child.disconnect();
  await waitForExit(pid, 10_000);
  assert.deepEqual(readdirSync(dir), [], 'nothing is left in the output folder');
});

test('a worker whose parent is SIGKILLed removes its temporary file and exits', async () => {
  const dir = tempDir('lifecycle-kill-');
  const parent = fork(path.join(SUPPORT, 'disconnect-parent.ts'), [path.join(dir, 'out.safetensors')], { execArgv: ['--import', 'tsx'] });
  const { temporary, pid } = await firstMessage<{ temporary: string; pid: number }>(parent);
  assert.ok(existsSync(temporary));
  parent.kill('SIGKILL');
  await waitForExit(pid, 10_000);
  assert.deepEqual(readdirSync(dir), []);
});

test('only our exact .partial pattern is recognised, with its writing pid', () => {
  assert.equal(partialWriterPid('.out.safetensors.1234.0a1b2c3d.partial'), 1234);
  for (const other of ['out.safetensors.1234.0a1b2c3d.partial', '.out.safetensors.1234.0A1B2C3D.partial', '.out.safetensors.1234.0a1b2c.partial', '.out.safetensors.x.0a1b2c3d.partial', '.out.safetensors.1234.0a1b2c3d.partial.bak', '.out.safetensors.0.0a1b2c3d.partial']) {
    assert.equal(partialWriterPid(other), undefined, other);
  }
});

test('stale partials of dead writers are removed; a live writer\'s, other names and folders are kept', async () => {
  const dir = tempDir('lifecycle-stale-');
  const dead = deadPid();
  const stale = [`.out.safetensors.${dead}.0a1b2c3d.partial`, `.out.ziplora.safetensors.${dead}.deadbeef.partial`];
  const kept = [`.out.safetensors.${process.ppid}.0a1b2c3d.partial`, `out.safetensors.${dead}.0a1b2c3d.partial`, `.out.safetensors.${dead}.0a1b2c3.partial`, 'notes.txt'];
  for (const name of [...stale, ...kept]) writeFileSync(path.join(dir, name), 'x');
  mkdirSync(path.join(dir, `.folder.${dead}.0a1b2c3d.partial`));
  const removed = await removeStalePartials(dir);
  assert.deepEqual(removed.sort(), [...stale].sort());
  assert.deepEqual(readdirSync(dir).sort(), [...kept, `.folder.${dead}.0a1b2c3d.partial`].sort());
});

test('the next merge into a folder removes a dead writer\'s leftover .partial there', async () => {
  const dir = tempDir('lifecycle-merge-');
  const { content, style } = await writePair(dir);
  const output = path.join(dir, 'out', 'merged.safetensors');
  mkdirSync(path.dirname(output));
  const leftover = path.join(path.dirname(output), `.merged.safetensors.${deadPid()}.0a1b2c3d.partial`);
  writeFileSync(leftover, 'left by a crash');
  await startMerge(mergeRequest(content, style, output)).result;
  assert.ok(!existsSync(leftover), 'the leftover was removed');
  assert.deepEqual(readdirSync(path.dirname(output)).sort(), ['merged.safetensors', 'merged.ziplora.safetensors'].sort());
});

async function answerTo(message: unknown): Promise<{ type: string; message?: string }> {
  const entry = workerEntry();
  const worker = fork(entry.file, [], { execArgv: entry.execArgv, serialization: 'advanced' });
  try {
    const answer = firstMessage<{ type: string; message?: string }>(worker);
    worker.send(message as object);
    return await answer;
  } finally {
    worker.kill();
  }
}

test('the worker refuses a malformed merge request and an unknown message with a message, instead of hanging', { timeout: 20_000 }, async () => {
  const bad = await answerTo({ type: 'merge', request: { content: 5 } });
  assert.equal(bad.type, 'error');
  assert.match(bad.message ?? '', /^invalid merge request: /);
  const unknown = await answerTo({ type: 'merge', request: null });
  assert.equal(unknown.type, 'error');
  assert.match(unknown.message ?? '', /refused a message it does not understand \(type "merge"\)/);
});
