/** The one block grouping (src/core/lora/network-blocks.ts) and its use by the CLI's merge summary. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeByBlock } from '../../src/core/format/merge-text';
import { blockOf, blockSpans, inNetworkOrder } from '../../src/core/lora/network-blocks';
import { LayerReport } from '../../src/core/merge/layer-report';

test('layers are assigned to their network block by canonical name', () => {
  assert.equal(blockOf('unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q').name, 'unet.down_blocks.1');
  assert.equal(blockOf('unet.mid_block.attentions.0.proj_in').name, 'unet.mid_block');
  assert.equal(blockOf('text_encoder_2.text_model.encoder.layers.3.mlp.fc1').name, 'text_encoder_2');
  assert.equal(blockOf('transformer.single_transformer_blocks.7.proj_out').name, 'transformer.single_transformer_blocks.7');
  assert.equal(blockOf('model.layers.12.self_attn.q_proj').name, 'model.layers.12');
});

test('network order: text encoders, then down, mid and up blocks, in index order; spans follow it', () => {
  const modules = [
    'unet.up_blocks.1.attentions.0.proj_out',
    'unet.mid_block.attentions.0.proj_in',
    'unet.down_blocks.2.attentions.0.proj_in',
    'text_encoder.text_model.encoder.layers.0.self_attn.q_proj',
    'unet.down_blocks.1.attentions.0.proj_in',
    'unet.down_blocks.1.attentions.1.proj_in',
  ];
  const ordered = inNetworkOrder(modules, (m) => m);
  assert.deepEqual(ordered.map((m) => blockOf(m).name), ['text_encoder', 'unet.down_blocks.1', 'unet.down_blocks.1', 'unet.down_blocks.2', 'unet.mid_block', 'unet.up_blocks.1']);
  assert.deepEqual(blockSpans(ordered).map((s) => [s.block.name, s.start, s.end]), [['text_encoder', 0, 0], ['unet.down_blocks.1', 1, 2], ['unet.down_blocks.2', 3, 3], ['unet.mid_block', 4, 4], ['unet.up_blocks.1', 5, 5]]);
});

test('diffusion transformers: embedders and refiners first, then joint / double-stream / Wan / NextDiT blocks by index, single-stream blocks, output layers', () => {
  const order = (modules: string[]) => blockSpans(inNetworkOrder(modules, (m) => m)).map((s) => s.block.name.replace(/^transformer\./, ''));
  // Flux / HunyuanVideo (BFL names): double-stream before single-stream, the final layer last, indices as numbers.
  assert.deepEqual(order(['transformer.final_layer.linear', 'transformer.single_blocks.0.linear1', 'transformer.double_blocks.10.img_attn.qkv', 'transformer.double_blocks.2.txt_attn.qkv', 'transformer.img_in']),
    ['img_in', 'double_blocks.2', 'double_blocks.10', 'single_blocks.0', 'final_layer']);
  // SD3: joint blocks; Wan: embedders numbered like blocks stay before the blocks, head last.
  assert.deepEqual(order(['transformer.joint_blocks.12.context_block.attn.qkv', 'transformer.joint_blocks.3.x_block.attn.qkv', 'transformer.x_embedder.proj']), ['x_embedder', 'joint_blocks.3', 'joint_blocks.12']);
  assert.deepEqual(order(['transformer.head.head', 'transformer.blocks.1.ffn.0', 'transformer.time_embedding.0', 'transformer.blocks.0.self_attn.q']), ['time_embedding.0', 'blocks.0', 'blocks.1', 'head']);
  // Chroma: its approximator first; HiDream-I1: double-stream then single-stream blocks; Flux.2's diffusers names as Flux's.
  assert.deepEqual(order(['transformer.single_blocks.0.linear1', 'transformer.double_blocks.1.img_attn.qkv', 'transformer.distilled_guidance_layer.layers.4.in_layer']),
    ['distilled_guidance_layer', 'double_blocks.1', 'single_blocks.0']);
  assert.deepEqual(order(['transformer.single_stream_blocks.0.block.attn1.to_q', 'transformer.double_stream_blocks.10.block.ff_t.w1', 'transformer.double_stream_blocks.2.block.attn1.to_q_t']),
    ['double_stream_blocks.2', 'double_stream_blocks.10', 'single_stream_blocks.0']);
  assert.deepEqual(order(['transformer.single_transformer_blocks.0.attn.to_qkv_mlp_proj', 'transformer.transformer_blocks.7.ff.linear_in']), ['transformer_blocks.7', 'single_transformer_blocks.0']);
  // NextDiT: each refiner kind together, before the main layers.
  assert.deepEqual(order(['transformer.layers.0.attention.qkv', 'transformer.context_refiner.1.attention.qkv', 'transformer.noise_refiner.1.attention.qkv', 'transformer.context_refiner.0.attention.qkv', 'transformer.noise_refiner.0.attention.qkv']),
    ['noise_refiner.0', 'noise_refiner.1', 'context_refiner.0', 'context_refiner.1', 'layers.0']);
  assert.deepEqual(blockOf('transformer.joint_blocks.7.x_block.attn.qkv').shortLabels, ['joint_blocks.7', 'jb 7', '7']);
  assert.deepEqual(blockOf('transformer.blocks.39.cross_attn.o').shortLabels, ['blocks.39', 'b 39', '39']);
});

test("the CLI's merge summary uses the same blocks, in network order", () => {
  const report = (module: string, contentError: number) =>
    ({ module, inputs: [0, 1], errors: [contentError, 0], directErrors: [0, 0], sparsity: [0, 0], pairs: [{ a: 0, b: 1, meanAbsCosine: 0, overlapBefore: 0, overlapAfter: 0 }] }) as unknown as LayerReport;
  const blocks = summarizeByBlock([report('unet.up_blocks.1.attentions.0.proj_out', 0.5), report('unet.down_blocks.1.attentions.0.proj_in', 0.1), report('unet.down_blocks.1.attentions.1.proj_in', 0.3)], 2);
  assert.deepEqual(blocks.map((b) => [b.block, b.layers]), [['unet.down_blocks.1', 2], ['unet.up_blocks.1', 1]]);
  assert.ok(Math.abs(blocks[0].errors[0] - 0.2) < 1e-12);
});
