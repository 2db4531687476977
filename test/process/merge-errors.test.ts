/** Bad input and interruptions: a clear message, and never a partial file or a touched input. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runMerge } from '../../src/core/merge/pipeline';
import { MERGE_PHASES } from '../../src/core/merge/request';
import { startMerge } from '../../src/worker/client';
import { caseFolders } from '../support/build-safetensors';
import { BROKEN_INPUTS, mergeRequest, SD15_LAYERS, writePair } from '../support/merge-fixtures';
import { skipOrFailInCi } from '../support/requirements';

const folder = caseFolders();

test('LoRAs for different base models: one clear message', async () => {
  const dir = folder();
  const { content } = await writePair(dir);
  const styleWide = path.join(dir, 'style-wide.safetensors');
  await BROKEN_INPUTS.wide(styleWide);
  await assert.rejects(runMerge(mergeRequest(content, styleWide, path.join(dir, 'out.safetensors'))), /cannot merge content-kohya\.safetensors and style-wide\.safetensors: .*differ in shape.*different base models/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('out')), []);
});

test('a LoKr file is refused by name', async () => {
  const dir = folder();
  const { content } = await writePair(dir);
  const lokr = path.join(dir, 'lokr.safetensors');
  await BROKEN_INPUTS.lokr(lokr);
  await assert.rejects(runMerge(mergeRequest(content, lokr, path.join(dir, 'out.safetensors'))), /lokr\.safetensors: holds .*LoKr.*not a plain B·A LoRA/);
});

test('NaN in a factor names the file and the layer', async () => {
  const dir = folder();
  const { style } = await writePair(dir);
  const broken = path.join(dir, 'nan.safetensors');
  await BROKEN_INPUTS.nan(broken);
  await assert.rejects(runMerge(mergeRequest(broken, style, path.join(dir, 'out.safetensors'))), /nan\.safetensors: .*mid_block.*attn2\.to_v.*NaN/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('out') || f.endsWith('.partial')), []);
});

test('output folders that do not exist, outputs that are inputs, and existing outputs are refused before any work', async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const before = readFileSync(content);
  await assert.rejects(runMerge(mergeRequest(content, style, path.join(dir, 'missing', 'out.safetensors'))), /output folder .*missing does not exist/);
  const notAFolder = path.join(dir, 'file');
  writeFileSync(notAFolder, 'x');
  await assert.rejects(runMerge(mergeRequest(content, style, path.join(notAFolder, 'out.safetensors'))), /output folder .* (is not a folder|cannot be written|does not exist)/);
  await assert.rejects(runMerge(mergeRequest(content, style, content, { overwrite: true })), /is one of the input files/);
  await assert.rejects(runMerge(mergeRequest(content, content, path.join(dir, 'o.safetensors'))), /content and style are the same file/);
  writeFileSync(path.join(dir, 'exists.safetensors'), 'old');
  await assert.rejects(runMerge(mergeRequest(content, style, path.join(dir, 'exists.safetensors'))), /already exists/);
  assert.deepEqual(readFileSync(content), before, 'the input is untouched');
  assert.equal(readFileSync(path.join(dir, 'exists.safetensors'), 'utf8'), 'old');
});

function tryMount(target: string, options: string): boolean {
  mkdirSync(target, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]).status === 0;
}

test('a full disk gives a clear message and leaves nothing behind', async (t) => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const tiny = path.join(dir, 'tiny');
  if (!tryMount(tiny, 'size=64k')) {
    skipOrFailInCi(t, 'cannot mount a tiny tmpfs here (needs root and mount permission); ENOSPC, EROFS and EACCES are injected into the writer in merge-write-failures.test.ts instead');
    return;
  }
  try {
    await assert.rejects(runMerge(mergeRequest(content, style, path.join(tiny, 'out.safetensors'))), /out\.safetensors: no space left on the device/);
    assert.deepEqual(readdirSync(tiny), []);
  } finally {
    spawnSync('umount', [tiny]);
  }
});

test('a read-only output folder gives a clear message', async (t) => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const readOnly = path.join(dir, 'ro');
  if (!tryMount(readOnly, 'ro,size=64k')) {
    skipOrFailInCi(t, 'cannot mount a read-only tmpfs here (needs root and mount permission); EROFS is injected into the writer in merge-write-failures.test.ts instead');
    return;
  }
  try {
    await assert.rejects(runMerge(mergeRequest(content, style, path.join(readOnly, 'out.safetensors'))), /output folder .*ro cannot be written|read-only/);
  } finally {
    spawnSync('umount', [readOnly]);
  }
});

test('a merge through the worker process succeeds and reports progress in every phase', async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const phases: string[] = [];
  let started = '';
  const running = startMerge(mergeRequest(content, style, path.join(dir, 'out.safetensors')), {
    onStart: (s) => (started = `${s.backend} ${s.merged}`),
    onProgress: (p) => phases.includes(p.phase) || phases.push(p.phase),
  });
  const summary = await running.result;
  assert.equal(started, `wasm ${SD15_LAYERS.length}`);
  assert.deepEqual(phases, [...MERGE_PHASES], 'every phase, first reached in this order');
  assert.equal(summary.layers.merged, SD15_LAYERS.length);
});
