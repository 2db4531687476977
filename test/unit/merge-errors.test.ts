/** Bad input and interruptions: a clear message, and never a partial file or a touched input. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runMerge } from '../../src/core/merge/pipeline';
import { writeSafetensors } from '../../src/core/safetensors/writer';
import { MergeCancelledError, startMerge } from '../../src/worker/client';
import { caseFolders } from '../support/build-safetensors';
import { randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { mergeRequest, SD15_LAYERS, writePair } from '../support/merge-fixtures';

const folder = caseFolders();

test('LoRAs for different base models: one clear message', async () => {
  const dir = folder();
  const { content } = await writePair(dir);
  // The same module names with every input width doubled: no shared layer has a matching shape.
  const wide = SD15_LAYERS.map((l) => ({ ...l, downShape: [l.downShape[0], l.downShape[1] * 2, ...l.downShape.slice(2)] }));
  const styleWide = path.join(dir, 'style-wide.safetensors');
  await writeLora(styleWide, wide, (l, i) => randomLayerValues(l, seededRandom(i)), { scheme: 'kohya', family: 'sd1' });
  await assert.rejects(runMerge(mergeRequest(content, styleWide, path.join(dir, 'out.safetensors'))), /cannot merge content-kohya\.safetensors and style-wide\.safetensors: .*differ in shape.*different base models/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('out')), []);
});

test('a LoKr file is refused by name', async () => {
  const dir = folder();
  const { content } = await writePair(dir);
  const lokr = path.join(dir, 'lokr.safetensors');
  const f16 = (n: number) => new Uint8Array(2 * n);
  await writeSafetensors(lokr, [
    { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w1', dtype: 'F16', shape: [4, 4], data: f16(16) },
    { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w2', dtype: 'F16', shape: [80, 80], data: f16(6400) },
    { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.alpha', dtype: 'F16', shape: [], data: f16(1) },
  ]);
  await assert.rejects(runMerge(mergeRequest(content, lokr, path.join(dir, 'out.safetensors'))), /lokr\.safetensors: holds .*LoKr.*not a plain B·A LoRA/);
});

test('NaN in a factor names the file and the layer', async () => {
  const dir = folder();
  const { style } = await writePair(dir);
  const broken = path.join(dir, 'nan.safetensors');
  await writeLora(broken, SD15_LAYERS, (l, i) => {
    const values = randomLayerValues(l, seededRandom(i));
    if (i === 2) values.down[5] = NaN;
    return values;
  }, { scheme: 'kohya', family: 'sd1' });
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
    t.skip('cannot mount a tiny tmpfs here (needs root and mount permission); the writer is covered by the injected-failure test in safetensors-format');
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
    t.skip('cannot mount a read-only tmpfs here (needs root and mount permission)');
    return;
  }
  try {
    await assert.rejects(runMerge(mergeRequest(content, style, path.join(readOnly, 'out.safetensors'))), /output folder .*ro cannot be written|read-only/);
  } finally {
    spawnSync('umount', [readOnly]);
  }
});

/** A merge long enough to interrupt: many steps on the small layers. */
async function longMerge(dir: string) {
  const { content, style } = await writePair(dir);
  const output = path.join(dir, 'out.safetensors');
  let interrupt: (() => void) | undefined;
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  const running = startMerge(mergeRequest(content, style, output, { steps: 20000 }), {
    onProgress: (p) => {
      if (p.phase === 'optimising') interrupt?.();
    },
  });
  await interrupted;
  return { running, output };
}

test('cancel during the optimisation stops the worker and leaves no output', async () => {
  const dir = folder();
  const { running } = await longMerge(dir);
  running.cancel();
  await assert.rejects(running.result, (error: unknown) => error instanceof MergeCancelledError);
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('content') && !f.startsWith('style')), []);
});

test('a worker killed mid-run is reported and leaves no output or temporary file', async () => {
  const dir = folder();
  const { running } = await longMerge(dir);
  process.kill(running.pid!, 'SIGKILL');
  await assert.rejects(running.result, /merge worker was killed \(SIGKILL\) before finishing; no output was written/);
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('content') && !f.startsWith('style')), []);
});

test('a merge through the worker process succeeds and reports progress in every phase', async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const phases = new Set<string>();
  let started = '';
  const running = startMerge(mergeRequest(content, style, path.join(dir, 'out.safetensors')), {
    onStart: (s) => (started = `${s.backend} ${s.paired}`),
    onProgress: (p) => phases.add(p.phase),
  });
  const summary = await running.result;
  assert.equal(started, `wasm ${SD15_LAYERS.length}`);
  assert.deepEqual([...phases].sort(), ['optimising', 'reading', 'writing']);
  assert.equal(summary.layers.merged, SD15_LAYERS.length);
});
