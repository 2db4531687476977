/** The worker's smaller jobs, through a real child process as the extension runs them. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runWorkerTask } from '../../src/worker/client';
import { tempDir, writeTemp } from '../support/build-safetensors';
import { SD15_LAYERS, writePair } from '../support/merge-fixtures';

const dir = tempDir();

test('tensorStats, loraLayers and compare run in the worker and return their results', async () => {
  const { content, style } = await writePair(dir);
  const name = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight';
  const stats = await runWorkerTask({ kind: 'tensorStats', file: content, tensor: name });
  assert.equal(stats?.count, 4 * 320);
  assert.equal(stats?.histogram.counts.reduce((a, b) => a + b, 0), 4 * 320);
  const layers = await runWorkerTask({ kind: 'loraLayers', file: content });
  assert.deepEqual(layers.map((l) => l.module).sort(), SD15_LAYERS.map((l) => l.canonical).sort());
  assert.ok(layers.every((l) => (l.norm ?? 0) > 0));
  const report = await runWorkerTask({ kind: 'compare', files: [content, style] });
  assert.match(report.text, /5 paired, 0 only in A, 0 only in B, 0 refused/);
  assert.equal(report.view.pairs.length, 1);
  assert.equal(report.view.pairs[0].paired, 5);
  assert.equal(report.view.pairs[0].layers.length, 5);
  assert.ok(report.view.pairs[0].layers.every((l) => l.meanAbsCosine !== null && l.meanAbsCosine >= 0 && l.meanAbsCosine <= 1 && l.normFirst > 0));
  // Three files: every pair, and a mean per block for each.
  const three = await runWorkerTask({ kind: 'compare', files: [content, style, content] });
  assert.deepEqual(three.view.pairs.map((p) => [p.a, p.b]), [[0, 1], [0, 2], [1, 2]]);
  assert.ok(three.view.blocks.length > 0 && three.view.blocks.every((b) => b.meanAbsCosine.length === 3));
  assert.ok(three.view.blocks.every((b) => Math.abs(b.meanAbsCosine[1]! - 1) < 1e-5), 'a file against itself: |cos| 1 in every block');
});

test('a bad file is an error naming it; an aborted task rejects', async () => {
  const broken = writeTemp(dir, 'broken.safetensors', 'not a safetensors file');
  await assert.rejects(runWorkerTask({ kind: 'loraLayers', file: broken }), /broken\.safetensors: /);
  await assert.rejects(runWorkerTask({ kind: 'tensorStats', file: path.join(dir, 'content-kohya.safetensors'), tensor: 'nope' }), /has no tensor named "nope"/);
  const controller = new AbortController();
  const running = runWorkerTask({ kind: 'loraLayers', file: path.join(dir, 'content-kohya.safetensors') }, controller.signal);
  controller.abort();
  await assert.rejects(running, /cancelled/);
});
