import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairLayers } from '../../src/core/lora/pairing';
import { layerTensorNames } from '../../src/core/lora/naming';
import { generate, opened, side, withKohyaNames } from '../support/family-fixtures';
import { layersFromLayout } from '../support/lora-generators';

/** Flux layers with kohya's module names spelled out here (lora_unet_ + the BFL path with `_`), not by the code under test. */
const FLUX = withKohyaNames(layersFromLayout('flux1-dev-transformer.layout.json', 1));

test('the Flux layout fixture has the real counts: 19 double blocks × 10 + 38 single blocks × 3 modules', () => {
  assert.equal(FLUX.length, 19 * 10 + 38 * 3);
  assert.ok(FLUX.some((l) => l.kohyaModule === 'lora_unet_double_blocks_0_img_attn_qkv' && l.upShape[0] === 9216));
});

for (const [scheme, example] of [
  ['native-diffusion-model', 'diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight'],
  ['native-bare', 'double_blocks.0.img_attn.qkv.lora_A.weight'],
  ['native-peft', 'base_model.model.double_blocks.0.img_attn.qkv.lora_A.weight'],
] as const) {
  test(`a kohya Flux LoRA pairs every module with a BFL-named one (${example})`, async () => {
    const kohya = await generate(FLUX, 'kohya', 1);
    const other = await generate(FLUX, scheme, 2);
    await opened(kohya, (x) => opened(other, async (y) => {
      assert.equal(x.lora.baseModel.family, 'flux');
      assert.equal(y.lora.baseModel.family, 'flux', `base model of the ${scheme} file: ${y.lora.baseModel.evidence.join('; ')}`);
      assert.deepEqual(y.lora.problems, []);
      const report = pairLayers(side('kohya', x), side(scheme, y));
      assert.equal(report.paired.length, FLUX.length);
      assert.deepEqual([report.onlyInFirst.length, report.onlyInSecond.length, report.refused.length], [0, 0, 0]);
      assert.equal(report.incompatibility, undefined);
      const pair = report.paired.find((p) => p.first.down.name === 'lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight');
      assert.equal(pair?.second.down.name, example);
    }));
  });
}

test('Flux layers in BFL layout are written in diffusers/PEFT naming as ai-toolkit writes them (diffusion_model.…)', () => {
  assert.deepEqual(layerTensorNames('transformer.double_blocks.0.img_attn.qkv', 'diffusers', 'flux'), {
    down: 'diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight',
    up: 'diffusion_model.double_blocks.0.img_attn.qkv.lora_B.weight',
  });
  assert.equal(layerTensorNames('transformer.single_blocks.3.linear1', 'kohya', 'flux').down, 'lora_unet_single_blocks_3_linear1.lora_down.weight');
  assert.equal(layerTensorNames('transformer.transformer_blocks.0.attn.to_q', 'diffusers', 'flux').down, 'transformer.transformer_blocks.0.attn.to_q.lora_A.weight');
});

test('a Qwen-Image LoRA with dotted lora_down / lora_up / alpha names is a LoRA, with alpha read per layer', async () => {
  const qwen = layersFromLayout('qwen-image-transformer.layout.json', 2);
  assert.equal(qwen.length, 60 * 12);
  const file = await generate(qwen, 'kohya-dotted', 3);
  await opened(file, async (x) => {
    assert.equal(x.lora.kind, 'lora');
    assert.equal(x.lora.scheme, 'kohya-dotted');
    assert.equal(x.lora.layers.length, qwen.length);
    assert.deepEqual(x.lora.problems, []);
    assert.deepEqual(x.lora.extraTensors, []);
    const toK = x.lora.layers.find((l) => l.module === 'transformer.transformer_blocks.0.attn.to_k');
    assert.equal(toK?.down.name, 'transformer_blocks.0.attn.to_k.lora_down.weight');
    assert.equal(toK?.scaleSource, 'alpha 1 / rank 2');
  });
});

test('a diffusers Flux LoRA pairs with a kohya one on every module: renamed ones one to one, split q/k/v (+ proj_mlp) with the fused qkv / linear1; norm_out stays unpaired', async () => {
  const diffusers = layersFromLayout('flux1-dev-diffusers-transformer.layout.json', 1);
  assert.equal(diffusers.length, 19 * 14 + 38 * 6 + 1);
  const kohyaFile = await generate(FLUX, 'kohya', 4);
  const diffusersFile = await generate(diffusers, 'peft', 5);
  await opened(kohyaFile, (x) => opened(diffusersFile, async (y) => {
    assert.equal(y.lora.baseModel.family, 'flux');
    const report = pairLayers(side('kohya', x), side('diffusers', y));
    assert.equal(report.paired.length, FLUX.length, 'every kohya module pairs: a fused module and its split parts are one pair');
    assert.deepEqual([report.onlyInFirst.length, report.refused.length], [0, 0]);
    assert.deepEqual(report.onlyInSecond.map((l) => l.module), ['transformer.norm_out.linear'], 'scale/shift halves swapped vs final_layer.adaLN_modulation.1: never paired by name');
    const byKohya = new Map(report.paired.map((p) => [p.first.down.name.replace('.lora_down.weight', ''), p]));
    assert.equal(byKohya.get('lora_unet_double_blocks_3_img_attn_proj')?.second.module, 'transformer.transformer_blocks.3.attn.to_out.0');
    assert.equal(byKohya.get('lora_unet_double_blocks_3_txt_mod_lin')?.second.module, 'transformer.transformer_blocks.3.norm1_context.linear');
    assert.equal(byKohya.get('lora_unet_single_blocks_37_linear2')?.second.module, 'transformer.single_transformer_blocks.37.proj_out');
    assert.equal(byKohya.get('lora_unet_single_blocks_0_modulation_lin')?.second.module, 'transformer.single_transformer_blocks.0.norm.linear');
    const txt = byKohya.get('lora_unet_double_blocks_5_txt_attn_qkv')!;
    assert.equal(txt.split, 'second');
    assert.deepEqual(txt.second.parts?.map((p) => [p.layer.module, p.rowOffset]), [
      ['transformer.transformer_blocks.5.attn.add_q_proj', 0],
      ['transformer.transformer_blocks.5.attn.add_k_proj', 3072],
      ['transformer.transformer_blocks.5.attn.add_v_proj', 6144],
    ]);
    assert.equal(txt.second.rank, 3, 'rank of the fused form = the sum of the parts\' ranks');
    const linear1 = byKohya.get('lora_unet_single_blocks_0_linear1')!;
    assert.deepEqual(linear1.second.parts?.map((p) => [p.layer.module.split('.').slice(-2).join('.'), p.rowOffset, p.layer.outFeatures]), [
      ['attn.to_q', 0, 3072], ['attn.to_k', 3072, 3072], ['attn.to_v', 6144, 3072], ['0.proj_mlp', 9216, 12288],
    ]);
    assert.equal(report.paired.filter((p) => p.split).length, 19 * 2 + 38);
  }));
});

test('an XLabs Flux LoRA is a LoRA (not a Flux checkpoint) and its double-block projections pair with kohya img_attn / txt_attn', async () => {
  const attention = FLUX.filter((l) => /\.double_blocks\.\d+\.(img|txt)_attn\.(qkv|proj)$/.test(l.canonical));
  assert.equal(attention.length, 19 * 4);
  const xlabs = await generate(attention.map((l) => ({ ...l, downShape: [16, l.downShape[1]], upShape: [l.upShape[0], 16] })), 'xlabs', 6);
  const kohya = await generate(FLUX, 'kohya', 7);
  await opened(xlabs, (y) => opened(kohya, async (x) => {
    assert.equal(y.lora.scheme, 'xlabs');
    assert.equal(y.lora.baseModel.family, 'flux');
    assert.deepEqual(y.lora.problems, []);
    const report = pairLayers(side('kohya', x), side('xlabs', y));
    assert.equal(report.paired.length, attention.length);
    const pair = report.paired.find((p) => p.second.down.name === 'double_blocks.0.processor.qkv_lora2.down.weight');
    assert.equal(pair?.first.down.name, 'lora_unet_double_blocks_0_txt_attn_qkv.lora_down.weight');
    assert.equal(pair?.second.outFeatures, 9216);
  }));
});
