/**
 * Diffusion transformers newer than SDXL besides Flux (lora-families.test.ts): SD3.5, Wan, HunyuanVideo, Qwen-Image,
 * LTX-Video, Lumina 2, Z-Image and the text encoders, in the namings trainers write. Files are generated from the
 * layouts in test/fixtures (real names and shapes, each with its provenance) at rank 1 with random values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerTensorNames } from '../../src/core/lora/naming';
import { pairLayers } from '../../src/core/lora/pairing';
import { guessTransformerFamily } from '../../src/core/lora/transformer-family';
import { assertPairing, generate, opened, PairingCase, side, withKohyaNames } from '../support/family-fixtures';
import { GeneratedScheme, LayerSpec, layersFromLayout } from '../support/lora-generators';
import { runCli } from '../support/run-cli';

const layout = (file: string, component?: string) => layersFromLayout(file, 1, component);

const SD3_NATIVE = withKohyaNames(layout('sd3.5-large-transformer.layout.json'));
const SD3_DIFFUSERS = layout('sd3.5-large-diffusers-transformer.layout.json');
const WAN_NATIVE = withKohyaNames(layout('wan2.1-14b-transformer.layout.json'));
const WAN_DIFFUSERS = layout('wan2.1-14b-diffusers-transformer.layout.json');
const HUNYUAN_NATIVE = withKohyaNames(layout('hunyuan-video-transformer.layout.json'));
const HUNYUAN_DIFFUSERS = layout('hunyuan-video-diffusers-transformer.layout.json');
const QWEN = withKohyaNames(layout('qwen-image-transformer.layout.json'));

const CASES: PairingCase[] = [
  ...([
    ['kohya (fused joint_blocks qkv)', 'kohya', ['lora_unet_joint_blocks_36_context_block_adaLN_modulation_1.lora_down.weight', 'transformer.transformer_blocks.36.norm1_context.linear']],
    ['ComfyUI / ai-toolkit (diffusion_model.joint_blocks)', 'native-diffusion-model', ['diffusion_model.joint_blocks.0.x_block.mlp.fc2.lora_A.weight', 'transformer.transformer_blocks.0.ff.net.2']],
  ] as const).map(([naming, scheme, example]): PairingCase => ({
    name: `SD3.5 Large ${naming} ↔ diffusers (split transformer_blocks)`,
    first: { layers: SD3_NATIVE, scheme },
    second: { layers: SD3_DIFFUSERS, scheme: 'peft' },
    family: 'sd3',
    // Every native module; the last block's context adaLN with its diffusers twin, whose scale/shift halves are swapped.
    paired: SD3_NATIVE.length,
    fusedSplit: 38 * 2,
    halvesSwapped: 1,
    // The native layout has no final_layer.adaLN_modulation.1 for it to pair with.
    onlyInSecond: ['transformer.norm_out.linear'],
    example: [...example],
  })),
  {
    name: 'SD3.5 Large kohya ↔ ai-toolkit (the same native modules)',
    first: { layers: SD3_NATIVE, scheme: 'kohya' },
    second: { layers: SD3_NATIVE, scheme: 'native-diffusion-model' },
    family: 'sd3',
    paired: SD3_NATIVE.length,
    fusedSplit: 0,
    example: ['lora_unet_joint_blocks_37_context_block_adaLN_modulation_1.lora_down.weight', 'transformer.joint_blocks.37.context_block.adaLN_modulation.1'],
  },
  ...(['kohya', 'native-diffusion-model', 'kohya-dotted'] as const).map((scheme): PairingCase => ({
    name: `Wan 2.1 14B ${scheme === 'kohya' ? 'musubi-tuner (lora_unet_blocks_…)' : scheme === 'kohya-dotted' ? 'dotted lora_down names (blocks.N.self_attn.q)' : 'ComfyUI (diffusion_model.blocks.…)'} ↔ diffusers (attn1 / attn2 / ffn.net)`,
    first: { layers: WAN_NATIVE, scheme },
    second: { layers: WAN_DIFFUSERS, scheme: 'peft' },
    family: 'wan',
    paired: 40 * 10,
    fusedSplit: 0,
    example: [
      { kohya: 'lora_unet_blocks_3_cross_attn_o.lora_down.weight', 'native-diffusion-model': 'diffusion_model.blocks.3.cross_attn.o.lora_A.weight', 'kohya-dotted': 'blocks.3.cross_attn.o.lora_down.weight' }[scheme],
      'transformer.blocks.3.attn2.to_out.0',
    ],
  })),
  ...([
    ['musubi-tuner (fused img_attn_qkv, linear1)', 'kohya', ['lora_unet_double_blocks_19_img_mlp_fc1.lora_down.weight', 'transformer.transformer_blocks.19.ff.net.0.proj']],
    ['ComfyUI (diffusion_model.double_blocks.N.img_attn_qkv)', 'native-diffusion-model', ['diffusion_model.single_blocks.39.modulation.linear.lora_A.weight', 'transformer.single_transformer_blocks.39.norm.linear']],
  ] as const).map(([naming, scheme, example]): PairingCase => ({
    name: `HunyuanVideo ${naming} ↔ diffusers (split)`,
    first: { layers: HUNYUAN_NATIVE, scheme },
    second: { layers: HUNYUAN_DIFFUSERS, scheme: 'peft' },
    family: 'hunyuan-video',
    paired: HUNYUAN_NATIVE.length,
    fusedSplit: 20 * 2 + 40,
    example: [...example],
  })),
  {
    name: 'Qwen-Image musubi-tuner (lora_unet_transformer_blocks_…) ↔ diffusers',
    first: { layers: QWEN, scheme: 'kohya' },
    second: { layers: QWEN, scheme: 'peft' },
    family: 'qwen-image',
    paired: 60 * 12,
    fusedSplit: 0,
    example: ['lora_unet_transformer_blocks_59_img_mlp_net_0_proj.lora_down.weight', 'transformer.transformer_blocks.59.img_mlp.net.0.proj'],
  },
  {
    name: 'Z-Image ComfyUI (fused attention.qkv) ↔ diffusers (attention.to_q/to_k/to_v)',
    first: { layers: layout('z-image-transformer.layout.json'), scheme: 'native-diffusion-model' },
    second: { layers: layout('z-image-diffusers-transformer.layout.json'), scheme: 'peft' },
    family: 'z-image',
    paired: 30 * 5,
    fusedSplit: 30,
    example: ['diffusion_model.layers.7.attention.out.lora_A.weight', 'transformer.layers.7.attention.to_out.0'],
  },
  {
    name: 'LTX-Video 13B ComfyUI (diffusion_model.transformer_blocks) ↔ diffusers',
    first: { layers: layout('ltx-video-13b-transformer.layout.json'), scheme: 'native-diffusion-model' },
    second: { layers: layout('ltx-video-13b-transformer.layout.json'), scheme: 'peft' },
    family: 'ltx-video',
    paired: 48 * 8,
    fusedSplit: 0,
    example: ['diffusion_model.transformer_blocks.47.attn2.to_k.lora_A.weight', 'transformer.transformer_blocks.47.attn2.to_k'],
  },
];

CASES.forEach((c, i) => {
  test(`compare pairs every module the two share: ${c.name}`, async () => {
    const first = await generate(c.first.layers, c.first.scheme, 10 + 2 * i);
    const second = await generate(c.second.layers, c.second.scheme, 11 + 2 * i);
    await opened(first, (x) => opened(second, async (y) => {
      assert.deepEqual([x.lora.problems, y.lora.problems], [[], []]);
      assert.deepEqual([x.lora.baseModel.family, y.lora.baseModel.family], [c.family, c.family], `${x.lora.baseModel.evidence.join('; ')} | ${y.lora.baseModel.evidence.join('; ')}`);
      assertPairing(pairLayers(side('first', x), side('second', y)), c);
    }));
  });
});

test('SD3.5 fused context qkv = add_q | add_k | add_v at rows 0, hidden, 2·hidden; Lumina 2 qkv is grouped-query (2304 / 768 / 768)', async () => {
  const sd3 = await generate(SD3_NATIVE, 'kohya', 40);
  const diffusers = await generate(SD3_DIFFUSERS, 'peft', 41);
  await opened(sd3, (x) => opened(diffusers, async (y) => {
    const pair = pairLayers(side('kohya', x), side('diffusers', y)).paired.find((p) => p.module === 'transformer.joint_blocks.5.context_block.attn.qkv')!;
    assert.deepEqual(pair.second.parts?.map((p) => [p.layer.module.split('.').pop(), p.rowOffset]), [['add_q_proj', 0], ['add_k_proj', 2432], ['add_v_proj', 4864]]);
  }));
  const lumina = await generate(layout('lumina2-transformer.layout.json'), 'native-diffusion-model', 42);
  const luminaDiffusers = await generate(layout('lumina2-diffusers-transformer.layout.json'), 'peft', 43);
  await opened(lumina, (x) => opened(luminaDiffusers, async (y) => {
    assert.deepEqual([x.lora.baseModel.family, y.lora.baseModel.family], ['lumina2', 'lumina2']);
    const report = pairLayers(side('native', x), side('diffusers', y));
    assert.equal(report.paired.length, 4);
    const qkv = report.paired.find((p) => p.module === 'transformer.layers.1.attention.qkv')!;
    assert.deepEqual(qkv.second.parts?.map((p) => [p.layer.module.split('.').pop(), p.rowOffset, p.layer.outFeatures]), [['to_q', 0, 2304], ['to_k', 2304, 768], ['to_v', 3072, 768]]);
  }));
});

test('a diffusers file whose layers alone do not name the family (q/k/v/out at an unusual width) is read in the other file\'s family', async () => {
  const spec = (canonical: string, out: number, inFeatures: number): LayerSpec => ({ canonical, downShape: [2, inFeatures], upShape: [out, 2] });
  const fused = withKohyaNames([spec('transformer.joint_blocks.0.x_block.attn.qkv', 96, 32), spec('transformer.joint_blocks.0.x_block.attn.proj', 32, 32)]);
  const split = ['to_q', 'to_k', 'to_v', 'to_out.0'].map((p) => spec(`transformer.transformer_blocks.0.attn.${p}`, 32, 32));
  const kohya = await generate(fused, 'kohya', 44);
  const diffusers = await generate(split, 'peft', 45);
  await opened(kohya, (x) => opened(diffusers, async (y) => {
    assert.deepEqual([x.lora.baseModel.family, y.lora.baseModel.family], ['sd3', 'unknown']);
    const report = pairLayers(side('kohya', x), side('diffusers', y));
    assert.deepEqual(report.paired.map((p) => [p.module, p.split ?? 'renamed']), [
      ['transformer.joint_blocks.0.x_block.attn.proj', 'renamed'],
      ['transformer.joint_blocks.0.x_block.attn.qkv', 'second'],
    ]);
  }));
});

/** Text encoder layers of a layout, the first two layers only (enough to check names; files stay small). */
const encoder = (file: string, component: string) => layout(file, component).filter((l) => /\.(layers|block)\.[01]\./.test(l.canonical));
const CLIP_L = encoder('clip-l-text-encoder.layout.json', 'text_encoder');
const CLIP_G = encoder('clip-g-text-encoder.layout.json', 'text_encoder_2');
const T5_AS_2 = encoder('t5-xxl-text-encoder.layout.json', 'text_encoder_2');
const T5_AS_3 = encoder('t5-xxl-text-encoder.layout.json', 'text_encoder_3');

/** kohya text-encoder prefixes spelled out per encoder, as sd-scripts writes them for the family. */
const kohyaEncoders = (prefixes: Record<string, string>) => (canonical: string): [string, string] => {
  const [component, ...rest] = canonical.split('.');
  return component === 'transformer' ? ['lora_unet_', rest.join('.')] : [prefixes[component], rest.join('.')];
};

for (const [name, t5Prefix] of [['current sd-scripts: T5 as lora_te3_', 'lora_te3_'], ['early sd-scripts: T5 as lora_te2_', 'lora_te2_']] as const) {
  test(`Flux text encoders (${name}) pair with diffusers text_encoder (CLIP-L) and text_encoder_2 (T5)`, async () => {
    const flux = layout('flux1-dev-transformer.layout.json').filter((l) => /\.double_blocks\.0\./.test(l.canonical));
    const diffusersSide = [...flux, ...CLIP_L, ...T5_AS_2];
    // The kohya file's T5 is named by its kohya prefix only: its canonical component is what the reader must work out.
    const kohyaSide = withKohyaNames(diffusersSide, kohyaEncoders({ text_encoder: 'lora_te1_', text_encoder_2: t5Prefix }));
    const kohya = await generate(kohyaSide, 'kohya', 50);
    const diffusers = await generate(diffusersSide, 'peft', 51);
    await opened(kohya, (x) => opened(diffusers, async (y) => {
      assert.equal(x.lora.baseModel.family, 'flux');
      assert.ok(x.lora.baseModel.evidence.includes('text encoder text_encoder_2: T5'), x.lora.baseModel.evidence.join('; '));
      assert.ok(x.lora.baseModel.evidence.includes('text encoder text_encoder: CLIP-L (width 768)'), x.lora.baseModel.evidence.join('; '));
      const report = pairLayers(side('kohya', x), side('diffusers', y));
      assert.deepEqual([report.onlyInFirst.map((l) => l.module), report.onlyInSecond.map((l) => l.module)], [[], []]);
      assert.equal(report.paired.length, diffusersSide.length);
      const t5 = report.paired.find((p) => p.first.down.name === `${t5Prefix}encoder_block_1_layer_1_DenseReluDense_wi_0.lora_down.weight`);
      assert.equal(t5?.second.module, 'text_encoder_2.encoder.block.1.layer.1.DenseReluDense.wi_0');
    }));
  });
}

test('SD3.5 text encoders: kohya lora_te1_ / lora_te2_ / lora_te3_ pair with diffusers text_encoder (CLIP-L) / text_encoder_2 (CLIP-G) / text_encoder_3 (T5)', async () => {
  const joint = SD3_NATIVE.filter((l) => /\.joint_blocks\.0\./.test(l.canonical)).map(({ kohyaModule, ...l }) => l);
  const diffusersJoint = SD3_DIFFUSERS.filter((l) => /\.transformer_blocks\.0\./.test(l.canonical));
  const encoders = [...CLIP_L, ...CLIP_G, ...T5_AS_3];
  const kohya = await generate(withKohyaNames([...joint, ...encoders], kohyaEncoders({ text_encoder: 'lora_te1_', text_encoder_2: 'lora_te2_', text_encoder_3: 'lora_te3_' })), 'kohya', 52);
  const diffusers = await generate([...diffusersJoint, ...encoders], 'peft', 53);
  await opened(kohya, (x) => opened(diffusers, async (y) => {
    assert.deepEqual([x.lora.baseModel.family, y.lora.baseModel.family], ['sd3', 'sd3'], y.lora.baseModel.evidence.join('; '));
    assert.ok(x.lora.baseModel.evidence.includes('text encoder text_encoder_2: CLIP-G (width 1280)'), x.lora.baseModel.evidence.join('; '));
    const report = pairLayers(side('kohya', x), side('diffusers', y));
    assert.equal(report.paired.length, joint.length + encoders.length);
    assert.deepEqual([report.onlyInFirst.length, report.onlyInSecond.length], [0, 0]);
    const t5 = report.paired.find((p) => p.first.down.name === 'lora_te3_encoder_block_0_layer_0_SelfAttention_q.lora_down.weight');
    assert.equal(t5?.second.module, 'text_encoder_3.encoder.block.0.layer.0.SelfAttention.q');
  }));
});

/** Every layout, the family and label inspect names, and a piece of the evidence it must show. */
const INSPECTED: [file: string, scheme: GeneratedScheme, family: string, label: string, evidence: RegExp][] = [
  ['sd3.5-large-transformer.layout.json', 'native-diffusion-model', 'sd3', 'SD3.5 Large', /joint_blocks\.0–37 \(38 blocks\).*hidden size 2432/],
  ['sd3.5-large-diffusers-transformer.layout.json', 'peft', 'sd3', 'SD3.5 Large', /transformer_blocks\.0–37 \(38 blocks\).*hidden size 2432/],
  ['wan2.1-14b-transformer.layout.json', 'native-diffusion-model', 'wan', 'Wan 2.1 / 2.2 14B', /native names\): blocks\.0–39 \(40 blocks\); hidden size 5120/],
  ['wan2.1-14b-diffusers-transformer.layout.json', 'peft', 'wan', 'Wan 2.1 / 2.2 14B', /diffusers names\): blocks\.0–39 \(40 blocks\); hidden size 5120/],
  ['wan2.1-1.3b-transformer.layout.json', 'kohya-dotted', 'wan', 'Wan 2.1 / 2.2 1.3B', /blocks\.0–29 \(30 blocks\); hidden size 1536/],
  ['hunyuan-video-transformer.layout.json', 'native-diffusion-model', 'hunyuan-video', 'HunyuanVideo', /double_blocks\.0–19 \(20 blocks\), single_blocks\.0–39 \(40 blocks\); HunyuanVideo module names/],
  ['hunyuan-video-diffusers-transformer.layout.json', 'peft', 'hunyuan-video', 'HunyuanVideo', /more blocks than Flux has/],
  ['flux1-dev-transformer.layout.json', 'native-diffusion-model', 'flux', 'Flux', /double_blocks\.0–18 \(19 blocks\), single_blocks\.0–37 \(38 blocks\); hidden size 3072/],
  ['flux1-dev-diffusers-transformer.layout.json', 'peft', 'flux', 'Flux', /transformer_blocks\.0–18 \(19 blocks\), single_transformer_blocks\.0–37 \(38 blocks\)/],
  ['qwen-image-transformer.layout.json', 'kohya-dotted', 'qwen-image', 'Qwen-Image', /transformer_blocks\.0–59 \(60 blocks\); hidden size 3072/],
  ['ltx-video-13b-transformer.layout.json', 'peft', 'ltx-video', 'LTX-Video 13B or LTX-2 (video layers only)', /attn1 \/ attn2\): transformer_blocks\.0–47 \(48 blocks\); hidden size 4096/],
  ['ltx2-transformer.layout.json', 'peft', 'ltx-2', 'LTX-2', /audio_to_video_attn \/ video_to_audio_attn\): transformer_blocks\.0–47 \(48 blocks\); video width 4096; audio width 2048/],
  ['ltx2-native-transformer.layout.json', 'native-diffusion-model', 'ltx-2', 'LTX-2', /video width 4096; audio width 2048/],
  ['lumina2-transformer.layout.json', 'native-diffusion-model', 'lumina2', 'Lumina 2', /grouped-query attention \(qkv 3840 rows for width 2304\)/],
  ['lumina2-diffusers-transformer.layout.json', 'peft', 'lumina2', 'Lumina 2', /attn\.to_q\/to_k\/to_v \(diffusers names\)/],
  ['z-image-transformer.layout.json', 'native-diffusion-model', 'z-image', 'Z-Image', /fused attention\.qkv \(native names\): layers\.0–29 \(30 blocks\); hidden size 3840/],
  ['z-image-diffusers-transformer.layout.json', 'peft', 'z-image', 'Z-Image', /attention\.to_q\/to_k\/to_v \(diffusers names\)/],
];

INSPECTED.forEach(([file, scheme, family, label, evidence], i) => {
  test(`the base model of ${file} (${scheme}) is ${label}, with its evidence`, async () => {
    const generated = await generate(layout(file), scheme, 60 + i);
    await opened(generated, async (x) => {
      assert.deepEqual(x.lora.problems, []);
      assert.equal(x.lora.baseModel.family, family);
      assert.equal(x.lora.baseModel.label, label);
      assert.match(x.lora.baseModel.evidence.join('; '), evidence);
    });
  });
});

test('ziplora inspect shows the family and its evidence', async () => {
  const file = await generate(WAN_NATIVE, 'kohya', 80);
  const result = runCli(['inspect', file]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Base model\s+Wan 2\.1 \/ 2\.2 14B \(Wan blocks with self_attn \/ cross_attn \/ ffn \(native names\): blocks\.0–39 \(40 blocks\); hidden size 5120\)/);
});

test('kohya output names per family: native transformer layouts under lora_unet_, text encoders numbered as sd-scripts numbers them', () => {
  assert.equal(layerTensorNames('transformer.joint_blocks.0.x_block.attn.qkv', 'kohya', 'sd3').down, 'lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight');
  assert.equal(layerTensorNames('transformer.blocks.3.self_attn.q', 'kohya', 'wan').down, 'lora_unet_blocks_3_self_attn_q.lora_down.weight');
  assert.equal(layerTensorNames('transformer.blocks.3.self_attn.q', 'diffusers', 'wan').down, 'diffusion_model.blocks.3.self_attn.q.lora_A.weight');
  assert.equal(layerTensorNames('transformer.blocks.3.attn1.to_q', 'diffusers', 'wan').down, 'transformer.blocks.3.attn1.to_q.lora_A.weight');
  assert.equal(layerTensorNames('text_encoder_2.encoder.block.0.layer.0.SelfAttention.q', 'kohya', 'flux').down, 'lora_te3_encoder_block_0_layer_0_SelfAttention_q.lora_down.weight');
  assert.equal(layerTensorNames('text_encoder_2.text_model.encoder.layers.0.mlp.fc1', 'kohya', 'sd3').down, 'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight');
  assert.equal(layerTensorNames('text_encoder.text_model.encoder.layers.0.mlp.fc1', 'kohya', 'flux').down, 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight');
  for (const family of ['sd1', 'sd2', 'unknown'] as const) {
    assert.equal(layerTensorNames('text_encoder.text_model.encoder.layers.0.mlp.fc1', 'kohya', family).down, 'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', family);
  }
});

test('diffusers joint blocks with attention only, 3072 wide: the block count tells Flux (19), HunyuanVideo (20) and Qwen-Image (60)', async () => {
  const attention = (blocks: number) => layout('qwen-image-transformer.layout.json').filter((l) => /\.attn\.to_[qkv]$/.test(l.canonical) && Number(l.canonical.split('.')[2]) < blocks);
  for (const [blocks, family] of [[19, 'flux'], [20, 'hunyuan-video'], [60, 'qwen-image']] as const) {
    const file = await generate(attention(blocks), 'peft', 90 + blocks);
    await opened(file, async (x) => assert.equal(x.lora.baseModel.family, family, x.lora.baseModel.evidence.join('; ')));
  }
});

test('ziplora compare --json: SD3.5 Large kohya ↔ diffusers through the CLI (pairs, fused ↔ split pairs, swapped-halves pairs, what stays unpaired)', async () => {
  const kohya = await generate(SD3_NATIVE, 'kohya', 100);
  const diffusers = await generate(SD3_DIFFUSERS, 'peft', 101);
  const result = runCli(['compare', '--json', kohya, diffusers]);
  assert.equal(result.status, 0, result.stderr);
  const { pairing, first } = JSON.parse(result.stdout) as {
    first: { baseModel: { label: string } };
    pairing: { paired: number; onlyInFirst: string[]; onlyInSecond: string[]; fusedSplit: { module: string; parts: string[] }[]; halvesSwapped: { module: string; second: string }[] };
  };
  assert.equal(first.baseModel.label, 'SD3.5 Large');
  assert.equal(pairing.paired, SD3_NATIVE.length);
  assert.equal(pairing.fusedSplit.length, 76);
  assert.deepEqual(pairing.fusedSplit.find((f) => f.module === 'transformer.joint_blocks.0.x_block.attn.qkv')?.parts, ['to_q', 'to_k', 'to_v'].map((p) => `transformer.transformer_blocks.0.attn.${p}`));
  assert.deepEqual([pairing.onlyInFirst, pairing.onlyInSecond], [[], ['transformer.norm_out.linear']]);
  assert.deepEqual(pairing.halvesSwapped, [{ module: 'transformer.joint_blocks.37.context_block.adaLN_modulation.1', second: 'transformer.transformer_blocks.37.norm1_context.linear' }]);
});

test('SD3 width 1536: a second image attention (x_block.attn2 / attn2) says SD3.5 Medium; without it SD3 Medium or SD3.5 Medium', () => {
  const joint = (path: string, out: number) => ({ path, inFeatures: 1536, outFeatures: out });
  const medium = [joint('joint_blocks.0.x_block.attn.qkv', 4608), joint('joint_blocks.0.x_block.attn.proj', 1536)];
  assert.equal(guessTransformerFamily(medium)?.label, 'SD3 Medium or SD3.5 Medium');
  assert.equal(guessTransformerFamily([...medium, joint('joint_blocks.0.x_block.attn2.qkv', 4608)])?.label, 'SD3.5 Medium');
  const diffusers = [joint('transformer_blocks.0.attn.to_q', 1536), joint('transformer_blocks.0.attn2.to_q', 1536)];
  assert.deepEqual([guessTransformerFamily(diffusers)?.family, guessTransformerFamily(diffusers)?.label], ['sd3', 'SD3.5 Medium']);
});
