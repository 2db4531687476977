/**
 * A merge drops nothing silently: layers in only one file are copied (and listed), tensors that are no B·A factor
 * are left out (and listed, with the reason), in the CLI text, in --json and in the summary the extension logs.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { unmergedLines } from '../../src/core/format/merge-text';
import { runMerge } from '../../src/core/merge/pipeline';
import { MergeSummary } from '../../src/core/merge/request';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { mergeRequest, SD15_LAYERS } from '../support/merge-fixtures';
import { runCli } from '../support/run-cli';

const [SHARED, ONLY_CONTENT, ONLY_STYLE] = [SD15_LAYERS.slice(0, 3), SD15_LAYERS[3], SD15_LAYERS[4]];
const CONTENT_EXTRA = 'bundle_emb.subject.string_to_param.*';
const STYLE_EXTRA = 'bundle_emb.style_token.string_to_param.*';

async function writeInputs(dir: string): Promise<{ content: string; style: string }> {
  const content = path.join(dir, 'content.safetensors');
  const style = path.join(dir, 'style.safetensors');
  const random = seededRandom(11);
  await writeLora(content, [...SHARED, ONLY_CONTENT], (l) => randomLayerValues(l, random), { scheme: 'kohya', family: 'sd1', extraTensors: [{ name: CONTENT_EXTRA, shape: [2, 768] }] });
  await writeLora(style, [...SHARED, ONLY_STYLE], (l) => randomLayerValues(l, random), { scheme: 'kohya', family: 'sd1', extraTensors: [{ name: STYLE_EXTRA, shape: [320] }] });
  return { content, style };
}

test('the merge summary lists the layers copied unchanged from each file and every tensor left out, with the reason', async () => {
  const dir = tempDir();
  const { content, style } = await writeInputs(dir);
  const output = path.join(dir, 'merged.safetensors');
  const summary = await runMerge(mergeRequest(content, style, output, { method: 'direct' }));
  assert.deepEqual(summary.unmerged.copied, [
    { input: 0, module: ONLY_CONTENT.canonical, weight: 1 },
    { input: 1, module: ONLY_STYLE.canonical, weight: 1 },
  ]);
  assert.deepEqual(summary.unmerged.leftOut.map((t) => [t.input, t.tensor]), [[0, CONTENT_EXTRA], [1, STYLE_EXTRA]]);
  assert.ok(summary.unmerged.leftOut.every((t) => /not a LoRA factor/.test(t.reason)));
  // What the summary says was copied is in the file; what it says was left out is not.
  const written = await withSafetensors(output, async (read) => read.tensors.map((t) => t.name));
  assert.ok(written.includes('lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight'));
  assert.ok(written.includes('lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight'));
  assert.ok(!written.some((n) => n === CONTENT_EXTRA || n === STYLE_EXTRA));

  const text = unmergedLines(summary.unmerged, summary.inputs.map((i) => i.file)).join('\n');
  const [c, s] = [path.basename(content), path.basename(style)];
  assert.ok(text.includes(`Copied       1 layer only in the content file (${c}), unchanged: unet.down_blocks.0.attentions.0.proj_in`), text);
  assert.ok(text.includes(`Copied       1 layer only in the style file (${s}), unchanged: unet.down_blocks.0.resnets.0.conv1`), text);
  assert.ok(text.includes(`Left out     1 tensor of the content file (${c}), not a LoRA factor`) && text.includes(CONTENT_EXTRA));
  assert.ok(text.includes(`Left out     1 tensor of the style file (${s}), not a LoRA factor`) && text.includes(STYLE_EXTRA));
});

test('merge through the CLI: the text and --json summaries carry the same lists', async () => {
  const dir = tempDir();
  const { content, style } = await writeInputs(dir);
  const text = runCli(['merge', content, style, '-o', path.join(dir, 'a.safetensors'), '--method', 'direct']);
  assert.equal(text.status, 0, text.stderr);
  assert.ok(text.stdout.includes(`Left out     1 tensor of the style file (${path.basename(style)})`) && text.stdout.includes(STYLE_EXTRA), text.stdout);
  assert.match(text.stdout, /Copied {7}1 layer only in the content file/);
  const json = runCli(['merge', content, style, '-o', path.join(dir, 'b.safetensors'), '--method', 'direct', '--json']);
  assert.equal(json.status, 0, json.stderr);
  const summary = JSON.parse(json.stdout) as MergeSummary;
  assert.deepEqual(summary.unmerged.leftOut.map((t) => t.tensor), [CONTENT_EXTRA, STYLE_EXTRA]);
  assert.deepEqual(summary.unmerged.copied.map((c) => c.module), [ONLY_CONTENT.canonical, ONLY_STYLE.canonical]);
});
