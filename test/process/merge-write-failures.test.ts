/**
 * Write failures with the codes a user's disk gives (ENOSPC, EROFS, EACCES), injected where no tmpfs can be
 * mounted: the file-system calls the writer makes (fs.promises.open, FileHandle.write, renameSync) are wrapped
 * to fail for one target. Also the sidecar's own paths: one that exists without its output, and one whose
 * write fails (the merged file must not be left without it). Afterwards the folder is byte for byte as it was.
 */
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, promises as fsp, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mock, test } from 'node:test';
import { runMerge } from '../../src/core/merge/pipeline';
import { sidecarPathFor } from '../../src/core/merge/request';
import { describeError } from '../../src/core/safetensors/errors';
import { tempDir } from '../support/build-safetensors';
import { folderSnapshot } from '../support/interrupt';
import { mergeRequest, readSidecar, writePair } from '../support/merge-fixtures';

const root = tempDir('write-failures-');
const inputs = path.join(root, 'inputs');
mkdirSync(inputs);
const pair = writePair(inputs);
const readdirSyncSorted = (dir: string) => readdirSync(dir).sort();
let counter = 0;
function folder(): string {
  const dir = path.join(root, `case-${++counter}`);
  mkdirSync(dir);
  return dir;
}

const MESSAGES = { ENOSPC: 'no space left on the device — free some space and try again', EROFS: 'the file system is read-only — choose another folder', EACCES: "permission denied — check the file's permissions" };
type Code = keyof typeof MESSAGES;

function systemError(code: Code, syscall: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${file}'`), { code, syscall, path: file });
}

/** True for the temporary file of `target` (`.NAME.PID.HEX.partial` beside it). */
const temporaryOf = (target: string) => (file: string) => path.basename(String(file)).startsWith(`.${path.basename(target)}.`);

/** Makes opening `target`'s temporary file fail with `code`, as a read-only or forbidden folder does. */
function failOpen(target: string, code: Code) {
  const open = fsp.open;
  let injected = 0;
  const wrapped = mock.method(fsp, 'open', (file: string, flags: string) => (temporaryOf(target)(file) ? (injected++, Promise.reject(systemError(code, 'open', file))) : open(file, flags)));
  return { restore: () => wrapped.mock.restore(), injected: () => injected };
}

/** Lets `target`'s temporary file open, then fails its data writes with `code` (a disk that fills up). */
function failWrites(target: string, code: Code) {
  const open = fsp.open;
  let injected = 0;
  const wrapped = mock.method(fsp, 'open', async (file: string, flags: string) => {
    const handle = await open(file, flags);
    if (!temporaryOf(target)(file)) return handle;
    let writes = 0;
    return new Proxy(handle, {
      get(real, key) {
        // The header goes through; the first tensor's data does not.
        if (key === 'write') return (...args: unknown[]) => (++writes > 1 ? (injected++, Promise.reject(systemError(code, 'write', file))) : (real.write as (...a: unknown[]) => unknown)(...args));
        const value = Reflect.get(real, key);
        return typeof value === 'function' ? value.bind(real) : value;
      },
    });
  });
  return { restore: () => wrapped.mock.restore(), injected: () => injected };
}

/** An earlier merge's output and sidecar, to be left as they are. */
function earlierFiles(output: string): void {
  writeFileSync(output, 'an earlier merged file');
  writeFileSync(sidecarPathFor(output), 'an earlier sidecar');
}

async function failureMessage(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => assert.fail('the merge did not fail'), (error: unknown) => describeError(error));
}

for (const [inject, codes] of [['open', ['EROFS', 'EACCES']], ['write', ['ENOSPC']]] as const) {
  for (const code of codes) {
    for (const target of ['merged file', 'sidecar'] as const) {
      for (const existing of [false, true]) {
        test(`${code} on ${inject} of the ${target}${existing ? ' over an existing output (--force)' : ''}: "${MESSAGES[code]}", the folder as it was`, async () => {
          const { content, style } = await pair;
          const dir = folder();
          const output = path.join(dir, 'out.safetensors');
          if (existing) earlierFiles(output);
          const failing = target === 'merged file' ? output : sidecarPathFor(output);
          const before = folderSnapshot(dir);
          const wrapped = inject === 'open' ? failOpen(failing, code) : failWrites(failing, code);
          try {
            const message = await failureMessage(runMerge(mergeRequest(content, style, output, { overwrite: existing })));
            assert.equal(message, `${failing}: ${MESSAGES[code]}`);
            assert.equal(wrapped.injected(), 1, 'the failure was injected once');
          } finally {
            wrapped.restore();
          }
          assert.deepEqual(folderSnapshot(dir), before);
        });
      }
    }
  }
}

/** Bytes no merge writes: an earlier output and its sidecar, which --force merges may replace. */
function earlierOutput(output: string): void {
  writeFileSync(output, 'an earlier merged LoRA');
  writeFileSync(sidecarPathFor(output), 'its sidecar');
}

/** Makes renaming a temporary file onto `target` fail with EACCES; counts the renames tried. */
function failRenameOnto(target: string) {
  const rename = fs.renameSync;
  const wrapped = mock.method(fs, 'renameSync', (from: string, to: string) => (to === target ? (() => { throw systemError('EACCES', 'rename', from); })() : rename(from, to)));
  return { restore: () => wrapped.mock.restore(), renames: () => wrapped.mock.callCount() };
}

for (const existing of [false, true]) {
  const over = existing ? ', over an existing output (--force)' : '';
  test(`renaming the sidecar into place fails (EACCES)${over}: nothing is put in place, the folder is as it was`, async () => {
    const { content, style } = await pair;
    const dir = folder();
    const output = path.join(dir, 'out.safetensors');
    const sidecar = sidecarPathFor(output);
    if (existing) earlierOutput(output);
    const before = folderSnapshot(dir);
    const failing = failRenameOnto(sidecar);
    try {
      assert.equal(await failureMessage(runMerge(mergeRequest(content, style, output, { overwrite: existing }))), `${sidecar}: ${MESSAGES.EACCES}`);
      assert.equal(failing.renames(), 1, 'the sidecar is renamed first, and the merged file then not at all');
    } finally {
      failing.restore();
    }
    assert.deepEqual(folderSnapshot(dir), before);
  });

  test(`renaming the merged file into place fails (EACCES)${over}: the new sidecar is removed, an earlier merged LoRA stays`, async () => {
    const { content, style } = await pair;
    const dir = folder();
    const output = path.join(dir, 'out.safetensors');
    if (existing) earlierOutput(output);
    const earlier = existing ? readFileSync(output) : undefined;
    const failing = failRenameOnto(output);
    try {
      assert.equal(await failureMessage(runMerge(mergeRequest(content, style, output, { overwrite: existing }))), `${output}: ${MESSAGES.EACCES}`);
      assert.equal(failing.renames(), 2, 'the sidecar and then the merged file were renamed');
    } finally {
      failing.restore();
    }
    // The one case an earlier file is lost: its sidecar, already replaced by the new one, which is then removed.
    assert.deepEqual(readdirSyncSorted(dir), existing ? ['out.safetensors'] : []);
    if (earlier) assert.deepEqual(readFileSync(output), earlier, 'the earlier merged LoRA was changed');
  });
}

test('an input that cannot be read for its hash is named in the message, and nothing is written', async () => {
  const { content, style } = await pair;
  const dir = folder();
  const output = path.join(dir, 'out.safetensors');
  // The hash reads `style` front to back (no position given): those reads fail; the layers' reads, by position, go through.
  const open = fsp.open;
  let injected = 0;
  const failing = mock.method(fsp, 'open', async (file: string, flags: string) => {
    const handle = await open(file, flags);
    if (file !== style) return handle;
    return new Proxy(handle, {
      get(real, key) {
        if (key === 'read') return (...args: unknown[]) => (args[3] === null ? (injected++, Promise.reject(systemError('EACCES', 'read', file))) : (real.read as (...a: unknown[]) => unknown)(...args));
        const value = Reflect.get(real, key);
        return typeof value === 'function' ? value.bind(real) : value;
      },
    });
  });
  try {
    assert.equal(await failureMessage(runMerge(mergeRequest(content, style, output))), `${style}: ${MESSAGES.EACCES}`);
    assert.ok(injected > 0, 'the failure was injected');
  } finally {
    failing.mock.restore();
  }
  assert.deepEqual(readdirSyncSorted(dir), []);
});

test('a sidecar that exists without its merged file is refused without --force, and replaced whole with it', async () => {
  const { content, style } = await pair;
  const dir = folder();
  const output = path.join(dir, 'out.safetensors');
  const sidecar = sidecarPathFor(output);
  writeFileSync(sidecar, 'an orphaned sidecar');
  const before = folderSnapshot(dir);
  assert.equal(await failureMessage(runMerge(mergeRequest(content, style, output))), `${sidecar}: already exists — choose another output path, or allow overwriting (--force)`);
  assert.deepEqual(folderSnapshot(dir), before, 'refused before any work');
  await runMerge(mergeRequest(content, style, output, { overwrite: true }));
  assert.ok(existsSync(output));
  assert.notEqual(readFileSync(sidecar, 'utf8'), 'an orphaned sidecar');
  const written = await readSidecar(sidecar);
  assert.equal(written.metadata.ziplora_merged_file, 'out.safetensors');
  assert.equal(folderSnapshot(dir).length, 2, 'the merged file and its sidecar, nothing else');
});
