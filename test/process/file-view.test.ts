/** The editor's view of a file (built in the host, no VS Code needed) on a LoRA, a merged LoRA (made by a real merge, with its compute threads) and its sidecar. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runMerge } from '../../src/core/merge/pipeline';
import { buildFileView, readLayerCoefficients, sidecarFor } from '../../src/core/view/file-view';
import { tempDir, writeTemp } from '../support/build-safetensors';
import { mergeRequest, SD15_LAYERS, writePair } from '../support/merge-fixtures';

test('the editor view of a LoRA, of a merged LoRA with its sidecar, and of a sidecar', async () => {
  const dir = tempDir();
  const { content, style } = await writePair(dir);
  const lora = await buildFileView(content);
  assert.equal(lora.summary.tensors.length, SD15_LAYERS.length * 3);
  assert.match(lora.kind, /^LoRA, kohya/);
  assert.equal(lora.lora?.baseModel.label, 'SD1.x');
  assert.equal(lora.ziplora, null);
  const output = path.join(dir, 'merged.safetensors');
  await runMerge(mergeRequest(content, style, output));
  const merged = await buildFileView(output);
  assert.equal(sidecarFor(output), path.join(dir, 'merged.ziplora.safetensors'));
  assert.equal(merged.ziplora?.layers.length, SD15_LAYERS.length);
  assert.equal(merged.ziplora?.mergedFile, output);
  assert.equal((merged.ziplora?.recipe as { method: string }).method, 'ziplora');
  const sidecar = await buildFileView(merged.ziplora!.sidecar);
  assert.match(sidecar.kind, /ZipLoRA sidecar/);
  assert.equal(sidecar.lora, null);
  const module = SD15_LAYERS[0].canonical;
  const coefficients = await readLayerCoefficients(merged.ziplora!.sidecar, module);
  assert.deepEqual(coefficients.inputs, [0, 1]);
  assert.deepEqual(coefficients.m.map((m) => m.length), [320, 320]);
  await assert.rejects(buildFileView(writeTemp(dir, 'bad.safetensors', 'version https://git-lfs.github.com/spec/v1\n')), /Git LFS pointer/);
});
