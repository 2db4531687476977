import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { canonicalToDiffusers, canonicalToKohya, diffusersToCanonical, kohyaToCanonical, pairingKey, unflattenModulePath } from '../../src/core/lora/naming';
import { specOf } from '../../src/core/lora/families';
import { diffusersToLdmUnet, ldmToDiffusersUnet } from '../../src/core/lora/families/unet-blocks';
import { SHAPE_DUMPS } from '../support/build-safetensors';
import { layersFromKohyaDump, readShapeDump } from '../support/lora-generators';
import { hasFixtures } from '../support/requirements';


test('the kohya SDXL name of the issue maps to the diffusers name, and back', () => {
  const canonical = kohyaToCanonical('lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q');
  assert.equal(canonical, 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q');
  assert.equal(canonicalToKohya(canonical!, 'sdxl'), 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q');
  assert.equal(canonicalToDiffusers(canonical!), 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q');
});

test('LDM UNet paths map to diffusers as diffusers’ convert_sd_to_diffusers does', () => {
  const cases: Array<[ldm: string, diffusers: string, layout: 'sd1' | 'sdxl']> = [
    ['input_blocks.1.0.in_layers.2', 'down_blocks.0.resnets.0.conv1', 'sd1'],
    ['input_blocks.2.0.out_layers.3', 'down_blocks.0.resnets.1.conv2', 'sd1'],
    ['input_blocks.3.0.op', 'down_blocks.0.downsamplers.0.conv', 'sd1'],
    ['input_blocks.4.0.skip_connection', 'down_blocks.1.resnets.0.conv_shortcut', 'sdxl'],
    ['input_blocks.8.1.proj_in', 'down_blocks.2.attentions.1.proj_in', 'sdxl'],
    ['middle_block.0.emb_layers.1', 'mid_block.resnets.0.time_emb_proj', 'sdxl'],
    ['middle_block.1.transformer_blocks.9.ff.net.2', 'mid_block.attentions.0.transformer_blocks.9.ff.net.2', 'sdxl'],
    ['middle_block.2.in_layers.2', 'mid_block.resnets.1.conv1', 'sdxl'],
    ['output_blocks.2.1.conv', 'up_blocks.0.upsamplers.0.conv', 'sd1'],
    ['output_blocks.2.2.conv', 'up_blocks.0.upsamplers.0.conv', 'sdxl'],
    ['output_blocks.5.1.transformer_blocks.1.attn2.to_k', 'up_blocks.1.attentions.2.transformer_blocks.1.attn2.to_k', 'sdxl'],
    ['output_blocks.11.0.out_layers.3', 'up_blocks.3.resnets.2.conv2', 'sd1'],
    ['time_embed.0', 'time_embedding.linear_1', 'sdxl'],
    ['label_emb.0.2', 'add_embedding.linear_2', 'sdxl'],
  ];
  for (const [ldm, diffusers, layout] of cases) {
    assert.equal(ldmToDiffusersUnet(ldm), diffusers, ldm);
    assert.equal(diffusersToLdmUnet(diffusers, specOf(layout)!.unet!.upBlocksWithAttention), ldm, diffusers);
  }
});

test('kohya names are split back into modules, including compound identifiers', () => {
  assert.equal(unflattenModulePath('text_model_encoder_layers_11_self_attn_out_proj'), 'text_model.encoder.layers.11.self_attn.out_proj');
  assert.equal(unflattenModulePath('down_blocks_0_attentions_1_transformer_blocks_0_ff_net_0_proj'), 'down_blocks.0.attentions.1.transformer_blocks.0.ff.net.0.proj');
  assert.equal(kohyaToCanonical('lora_te2_text_model_encoder_layers_0_mlp_fc2'), 'text_encoder_2.text_model.encoder.layers.0.mlp.fc2');
  assert.equal(kohyaToCanonical('lora_te_text_model_encoder_layers_0_mlp_fc2'), 'text_encoder.text_model.encoder.layers.0.mlp.fc2');
  assert.equal(kohyaToCanonical('lora_unet_single_blocks_3_linear1'), 'transformer.single_blocks.3.linear1');
  assert.equal(kohyaToCanonical('lora_foo_bar'), undefined);
  assert.equal(canonicalToKohya('text_encoder.text_model.encoder.layers.0.mlp.fc1', 'sd1'), 'lora_te_text_model_encoder_layers_0_mlp_fc1');
  assert.equal(canonicalToKohya('text_encoder.text_model.encoder.layers.0.mlp.fc1', 'sdxl'), 'lora_te1_text_model_encoder_layers_0_mlp_fc1');
  assert.throws(() => canonicalToKohya('model.layers.0.self_attn.q_proj', 'llm'), /language model/);
});

test('NextDiT modules named alike in both namings are lora_unet_ transformer layers, both ways (ComfyUI maps no lora_transformer_ for them)', () => {
  assert.equal(kohyaToCanonical('lora_unet_layers_0_feed_forward_w1'), 'transformer.layers.0.feed_forward.w1');
  assert.equal(kohyaToCanonical('lora_unet_noise_refiner_1_attention_to_q'), 'transformer.noise_refiner.1.attention.to_q');
  assert.equal(canonicalToKohya('transformer.layers.0.feed_forward.w1', 'z-image'), 'lora_unet_layers_0_feed_forward_w1');
  assert.equal(canonicalToKohya('transformer.layers.3.attention.qkv', 'z-image'), 'lora_unet_layers_3_attention_qkv');
});

test('diffusers and PEFT module names become canonical names', () => {
  assert.equal(diffusersToCanonical('unet.unet.down_blocks.0.attentions.0.proj_in', undefined), 'unet.down_blocks.0.attentions.0.proj_in');
  assert.equal(diffusersToCanonical('base_model.model.single_transformer_blocks.0.attn.to_k', 'transformer'), 'transformer.single_transformer_blocks.0.attn.to_k');
  assert.equal(diffusersToCanonical('base_model.model.roberta.encoder.layer.0.attention.self.query', undefined), 'roberta.encoder.layer.0.attention.self.query');
  assert.equal(canonicalToDiffusers('roberta.encoder.layer.0.attention.self.query'), 'base_model.model.roberta.encoder.layer.0.attention.self.query');
  // GPT-2's `transformer.h.N` is a language model path, not the diffusion `transformer` component.
  assert.equal(canonicalToDiffusers('transformer.h.0.attn.c_attn'), 'base_model.model.transformer.h.0.attn.c_attn');
  assert.equal(pairingKey('unet.a.b_c', 'sd1'), 'unet_a_b_c');
});

test('every kohya SDXL UNet layer of the real dump lands on a real SDXL UNet weight of the same shape', (t) => {
  if (!hasFixtures(t, SHAPE_DUMPS)) return;
  const base = new Map(readShapeDump('sdxl_base_unet.invokeai_dump.json').map((d) => [d.name, d.shape]));
  const layers = layersFromKohyaDump(readShapeDump('sdxl_kohya_lora.invokeai_dump.json')).filter((l) => l.canonical.startsWith('unet.'));
  assert.ok(layers.length > 700, `only ${layers.length} UNet layers`);
  for (const layer of layers) {
    const weight = base.get(`${layer.canonical.slice('unet.'.length)}.weight`);
    assert.ok(weight, `${layer.kohyaModule} → ${layer.canonical} is no SDXL UNet module`);
    assert.deepEqual([weight[0], weight[1]], [layer.upShape[0], layer.downShape[1]], layer.canonical);
  }
});

test('kohya names of the real SD1.5 and SDXL dumps survive canonical → kohya unchanged', (t) => {
  if (!hasFixtures(t, SHAPE_DUMPS)) return;
  for (const [dump, family] of [['sd15_kohya_lora.invokeai_dump.json', 'sd1'], ['sdxl_kohya_lora.invokeai_dump.json', 'sdxl']] as const) {
    const layers = layersFromKohyaDump(readShapeDump(dump));
    assert.ok(layers.length >= 264, path.basename(dump));
    for (const layer of layers) assert.equal(canonicalToKohya(layer.canonical, family), layer.kohyaModule);
  }
});
