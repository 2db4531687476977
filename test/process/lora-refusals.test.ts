/**
 * Adapters a merge cannot carry are refused by name, with what to do, in `inspect`, the editor, `compare` and `merge`:
 * one row per adapter (a new layout is one more row). The Flux Control row is generated from the layout in
 * test/fixtures/flux1-control-lora.layout.json (provenance there).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openLora } from '../../src/core/lora/open-lora';
import { describeAdapter, NotLoraDescription } from '../../src/core/lora/recognise';
import { buildFileView } from '../../src/core/view/file-view';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { writeSafetensors } from '../support/write-safetensors';
import { tempDir } from '../support/build-safetensors';
import { runCli } from '../support/run-cli';
import { writePair } from '../support/merge-fixtures';

type Tensors = Array<[string, number[]]>;

/** A BFL Flux Control LoRA's tensors at rank 2: LoRA pairs, each with lora_B.bias, and the full norm scales. */
function fluxControlTensors(): Tensors {
  const layout = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/flux1-control-lora.layout.json'), 'utf8')) as {
    blocks: Record<string, number>;
    modules: Record<string, [number, number]>;
    full: Record<string, number[]>;
  };
  const expand = (pattern: string) => {
    const count = layout.blocks[pattern.split('.')[0]];
    return count === undefined ? [pattern] : Array.from({ length: count }, (_, n) => pattern.replace('.N.', `.${n}.`));
  };
  const tensors: Tensors = [];
  for (const [pattern, [out, inFeatures]] of Object.entries(layout.modules)) {
    for (const module of expand(pattern)) {
      tensors.push([`${module}.lora_A.weight`, [2, inFeatures]], [`${module}.lora_B.weight`, [out, 2]], [`${module}.lora_B.bias`, [out]]);
    }
  }
  for (const [pattern, shape] of Object.entries(layout.full)) for (const name of expand(pattern)) tensors.push([name, shape]);
  return tensors;
}

const ROWS: Array<{ name: string; tensors: () => Tensors; looksLike: RegExp; advice: RegExp }> = [
  {
    name: 'LyCORIS LoKr (kohya names)',
    tensors: () => [['lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w1', [8, 8]], ['lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w2', [40, 40]], ['lora_unet_down_blocks_0_attentions_0_proj_in.alpha', []]],
    looksLike: /LyCORIS LoKr/,
    advice: /LyCORIS-aware tool|extract a plain LoRA/,
  },
  {
    name: 'LyCORIS LoHa',
    tensors: () => [['lora_unet_a_to_q.hada_w1_a', [8, 4]], ['lora_unet_a_to_q.hada_w1_b', [4, 8]], ['lora_unet_a_to_q.hada_w2_a', [8, 4]], ['lora_unet_a_to_q.hada_w2_b', [4, 8]]],
    looksLike: /LyCORIS LoHa/,
    advice: /LyCORIS-aware tool/,
  },
  {
    name: 'DoRA, PEFT (lora_magnitude_vector)',
    tensors: () => [['unet.a.to_q.lora_A.weight', [4, 8]], ['unet.a.to_q.lora_B.weight', [8, 4]], ['unet.a.to_q.lora_magnitude_vector', [8]]],
    looksLike: /DoRA/,
    advice: /magnitude rescales whole weight columns/,
  },
  {
    name: "DoRA, OneTrainer (kohya names + dora_scale)",
    tensors: () => [
      ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight', [4, 320]],
      ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight', [320, 4]],
      ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha', []],
      ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.dora_scale', [1, 320]],
    ],
    looksLike: /DoRA.*beside 1 plain LoRA layer/,
    advice: /OneTrainer: decompose weights off/,
  },
  { name: 'Flux Control LoRA (BFL Canny/Depth layout)', tensors: fluxControlTensors, looksLike: /^a Flux Control LoRA/, advice: /Control LoRA beside the merged LoRA/ },
  {
    name: 'PEFT LoRA with lora_bias',
    tensors: () => [['transformer.x_embedder.lora_A.weight', [4, 64]], ['transformer.x_embedder.lora_B.weight', [3072, 4]], ['transformer.x_embedder.lora_B.bias', [3072]]],
    looksLike: /LoRA with bias terms/,
    advice: /trained without lora_bias/,
  },
];

async function writeTensors(file: string, tensors: Tensors): Promise<void> {
  await writeSafetensors(file, tensors.map(([name, shape]) => ({ name, dtype: 'F16', shape, data: new Uint8Array(2 * shape.reduce((a, b) => a * b, 1)) })));
}

for (const row of ROWS) {
  test(`${row.name}: named by inspect with what to do, refused by compare and merge in one line`, async () => {
    const dir = tempDir();
    const file = path.join(dir, 'adapter.safetensors');
    await writeTensors(file, row.tensors());
    const description = (await withSafetensors(file, describeAdapter)) as NotLoraDescription;
    assert.equal(description.kind, 'not-lora');
    assert.match(description.looksLike, row.looksLike);
    await assert.rejects(openLora(file), (error: Error) => error.message.startsWith(`${file}: holds`) && row.looksLike.test(error.message.split(': holds ')[1]) && row.advice.test(error.message));

    // The editor's overview says the same (the Kind row, then "What to do").
    const view = await buildFileView(file);
    assert.match(view.kind, row.looksLike);
    assert.match(view.advice ?? '', row.advice);

    const inspect = runCli(['inspect', file]);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.match(inspect.stdout, /Adapter {6}not a LoRA: /);
    assert.match(inspect.stdout.split('What to do')[1] ?? '', row.advice);

    const { style } = await writePair(dir);
    const merge = runCli(['merge', file, style, '-o', path.join(dir, 'out.safetensors')]);
    assert.equal(merge.status, 1);
    assert.equal(merge.stderr.trim().split('\n').length, 1, merge.stderr);
    assert.match(merge.stderr, row.advice);
  });
}
