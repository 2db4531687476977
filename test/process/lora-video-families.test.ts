/**
 * LTX-2 and Wan 2.2, the newest video families: recognition with its evidence, pairing across the namings trainers
 * write, the refusals (LTX-Video with LTX-2, Wan 2.1 with 2.2, a high-noise expert's LoRA with a low-noise one) and
 * `merge --experts`. Files are generated from the layouts in test/fixtures (real names and shapes, with provenance),
 * or from a few real-width layers, at rank 1 or 2 with seeded random values.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { blockOf, blockSpans, inNetworkOrder } from '../../src/core/lora/network-blocks';
import { pairLayers } from '../../src/core/lora/pairing';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { generate, opened, side, withKohyaNames } from '../support/family-fixtures';
import { LayerSpec, layersFromLayout, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { runCli } from '../support/run-cli';

const LTX2 = layersFromLayout('ltx2-transformer.layout.json', 1);
const LTX2_NATIVE = layersFromLayout('ltx2-native-transformer.layout.json', 1);
/** Per block: video attn1 / attn2 (8), audio attn1 / attn2 (8), the two cross-modal attentions (8), ff and audio_ff (4). */
const PER_BLOCK = 28;
const GLOBALS = 8;

test('the LTX-2 layouts have the real counts: 48 blocks of 28 linears, and 8 projections outside them', () => {
  assert.equal(LTX2.length, 48 * PER_BLOCK + GLOBALS);
  assert.equal(LTX2_NATIVE.length, LTX2.length);
  const toQ = LTX2.find((l) => l.canonical === 'transformer.transformer_blocks.0.audio_to_video_attn.to_q')!;
  assert.deepEqual([toQ.upShape[0], toQ.downShape[1]], [2048, 4096], 'q from the 4096-wide video stream into the 2048-wide audio heads');
});

for (const [name, first, scheme, example] of [
  ['ComfyUI / ai-toolkit (diffusion_model. + own names)', LTX2_NATIVE, 'native-diffusion-model', ['diffusion_model.patchify_proj.lora_A.weight', 'transformer.proj_in']],
  ['kohya (lora_unet_ + own names)', withKohyaNames(LTX2_NATIVE), 'kohya', ['lora_unet_audio_patchify_proj.lora_down.weight', 'transformer.audio_proj_in']],
  ['ComfyUI, a block module', LTX2_NATIVE, 'native-diffusion-model', ['diffusion_model.transformer_blocks.47.video_to_audio_attn.to_k.lora_A.weight', 'transformer.transformer_blocks.47.video_to_audio_attn.to_k']],
] as const) {
  test(`LTX-2 ${name} pairs every module with a diffusers-named file`, async () => {
    const native = await generate(first, scheme, 1, 'ltx-2');
    const diffusers = await generate(LTX2, 'peft', 2, 'ltx-2');
    await opened(native, (x) => opened(diffusers, async (y) => {
      assert.deepEqual([x.lora.baseModel.family, y.lora.baseModel.family], ['ltx-2', 'ltx-2'], `${x.lora.baseModel.evidence.join('; ')} | ${y.lora.baseModel.evidence.join('; ')}`);
      assert.deepEqual([x.lora.problems, y.lora.problems], [[], []]);
      const report = pairLayers(side('native', x), side('diffusers', y));
      assert.equal(report.incompatibility, undefined);
      assert.deepEqual([report.onlyInFirst.length, report.onlyInSecond.length, report.refused.length], [0, 0, 0]);
      assert.equal(report.paired.length, LTX2.length);
      assert.equal(report.paired.find((p) => p.first.down.name === example[0])?.second.module, example[1]);
    }));
  });
}

test('an LTX-2 file is recognised by its audio stream, with both streams\' widths as evidence', async () => {
  const file = await generate(LTX2, 'peft', 3, 'ltx-2');
  await opened(file, async (x) => {
    assert.equal(x.lora.baseModel.label, 'LTX-2');
    assert.match(x.lora.baseModel.evidence.join('; '), /video and audio attention .*transformer_blocks\.0–47 \(48 blocks\); video width 4096; audio width 2048/);
  });
});

const VIDEO_ONLY = LTX2.filter((l) => /\.transformer_blocks\.\d+\.(attn1|attn2|ff)\./.test(l.canonical));

test('LTX-2 video layers alone fit LTX-Video 13B too: named both, and paired with an LTX-2 file in LTX-2 (no refusal)', async () => {
  const videoOnly = await generate(VIDEO_ONLY, 'native-diffusion-model', 4, 'ltx-2');
  const full = await generate(LTX2, 'peft', 5, 'ltx-2');
  await opened(videoOnly, (x) => opened(full, async (y) => {
    assert.equal(x.lora.baseModel.label, 'LTX-Video 13B or LTX-2 (video layers only)');
    assert.deepEqual(x.lora.baseModel.alsoFits, ['ltx-2']);
    const report = pairLayers(side('video only', x), side('LTX-2', y));
    assert.equal(report.incompatibility, undefined);
    assert.equal(report.paired.length, VIDEO_ONLY.length);
  }));
});

/** LTX-Video 0.9's 2B transformer, two blocks: diffusers LTXVideoTransformer3DModel's defaults (32 heads × 64 = 2048, cross_attention_dim 2048, 28 layers). */
const LTX_VIDEO_2B: LayerSpec[] = [0, 1].flatMap((n) => ['attn1.to_q', 'attn1.to_k', 'attn1.to_v', 'attn1.to_out.0', 'attn2.to_q', 'attn2.to_k', 'attn2.to_v', 'attn2.to_out.0']
  .map((m) => ({ canonical: `transformer.transformer_blocks.${n}.${m}`, downShape: [1, 2048], upShape: [2048, 1] })));

test('LTX-Video with LTX-2 is refused in one line that names both families and their evidence', async () => {
  const ltxv = await generate(LTX_VIDEO_2B, 'peft', 6, 'ltx-video');
  const ltx2 = await generate(LTX2, 'native-diffusion-model', 7, 'ltx-2');
  await opened(ltxv, (x) => opened(ltx2, async (y) => {
    const { incompatibility } = pairLayers(side('ltxv.safetensors', x), side('ltx2.safetensors', y));
    assert.match(incompatibility ?? '', /^the two LoRAs are for different base models: ltxv\.safetensors is for LTX-Video \(transformer blocks with self- and cross-attention.*hidden size 2048\), ltx2\.safetensors is for LTX-2 \(transformer blocks with video and audio attention/);
  }));
  const result = runCli(['merge', ltxv, ltx2, '-o', path.join(tempDir(), 'out.safetensors')]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /different base models: .*LTX-Video .*LTX-2/);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
});

/** Wan 14B self-attention of two blocks (5120 wide, Wan2.1 model.py): the A14B experts and Wan 2.1 14B share it. */
const wanLayers = (width: number): LayerSpec[] => withKohyaNames([0, 1].flatMap((n) => ['q', 'k', 'v', 'o']
  .map((m) => ({ canonical: `transformer.blocks.${n}.self_attn.${m}`, downShape: [2, width], upShape: [width, 2] }))));

async function wanFile(name: string, seed: number, metadata: Record<string, string> = {}, width = 5120): Promise<string> {
  const file = path.join(tempDir(), `${name}.safetensors`);
  const random = seededRandom(seed);
  await writeLora(file, wanLayers(width), (l) => randomLayerValues(l, random), { scheme: 'kohya', family: 'wan', dtype: 'F16', metadata });
  return file;
}

for (const [name, metadata, width, release, expert, label, evidence] of [
  ['wan2.2_t2v_lightx2v_4steps_lora_v1.1_high_noise', {}, 5120, '2.2', 'high-noise', 'Wan 2.2 14B, high-noise expert', /file name "wan2\.2_t2v_lightx2v_4steps_lora_v1\.1_high_noise" names Wan 2\.2 and the high-noise expert/],
  ['style-LOW-v1', {}, 5120, '2.2', 'low-noise', 'Wan 2.2 14B, low-noise expert', /file name "style-LOW-v1" names the low-noise expert/],
  ['mylora', { ss_sd_model_name: 'wan2.2_t2v_low_noise_14B_fp16.safetensors', 'modelspec.architecture': 'wan2.1/lora' }, 5120, '2.2', 'low-noise', 'Wan 2.2 14B, low-noise expert', /metadata ss_sd_model_name \(the DiT musubi-tuner trained on\) "wan2\.2_t2v_low_noise_14B_fp16\.safetensors"/],
  ['wan2.1_style', {}, 5120, '2.1', undefined, 'Wan 2.1 14B', /file name "wan2\.1_style" names Wan 2\.1/],
  ['musubi-style', { 'modelspec.architecture': 'wan2.1/lora' }, 5120, undefined, undefined, 'Wan 2.1 / 2.2 14B', /hidden size 5120$/],
  ['small-high', {}, 1536, undefined, undefined, 'Wan 2.1 / 2.2 1.3B', /hidden size 1536$/],
  ['ti2v', {}, 3072, '2.2', undefined, 'Wan 2.2 TI2V-5B', /width 3072 is Wan 2\.2 TI2V-5B's/],
] as const) {
  test(`a Wan LoRA named ${name}${Object.keys(metadata).length ? ' with trainer metadata' : ''} is ${label}`, async () => {
    const file = await wanFile(name, 10, metadata, width);
    await opened(file, async (x) => {
      assert.equal(x.lora.baseModel.family, 'wan');
      assert.equal(x.lora.baseModel.label, label);
      assert.deepEqual([x.lora.baseModel.release, x.lora.baseModel.expert], [release, expert]);
      assert.match(x.lora.baseModel.evidence.join('; '), evidence);
    });
  });
}

test('Wan 2.1 with Wan 2.2 is refused naming both; a LoRA whose release nothing tells pairs with either', async () => {
  const v21 = await wanFile('wan2.1_style', 11);
  const v22 = await wanFile('wan2.2_subject_high_noise', 12);
  const either = await wanFile('subject', 13);
  await opened(v21, (a) => opened(v22, (b) => opened(either, async (c) => {
    const { incompatibility } = pairLayers(side('wan2.1_style.safetensors', a), side('wan2.2_subject_high_noise.safetensors', b));
    assert.match(incompatibility ?? '', /^the two LoRAs are for different base models: wan2\.1_style\.safetensors is for Wan 2\.1 14B \(.*\), wan2\.2_subject_high_noise\.safetensors is for Wan 2\.2 14B, high-noise expert \(/);
    assert.equal(pairLayers(side('either', c), side('2.1', a)).incompatibility, undefined);
    assert.equal(pairLayers(side('either', c), side('2.2', b)).incompatibility, undefined);
  })));
});

test('a high-noise LoRA merged with a low-noise one is refused in one line naming both experts; --allow-mixed-experts merges them', async () => {
  const high = await wanFile('A_high_noise', 20);
  const low = await wanFile('B_low_noise', 21);
  const out = path.join(tempDir(), 'mixed.safetensors');
  const refused = runCli(['merge', high, low, '-o', out, '--method', 'direct']);
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /cannot merge A_high_noise\.safetensors and B_low_noise\.safetensors: A_high_noise\.safetensors is for the high-noise expert \(file name .*\), B_low_noise\.safetensors is for the low-noise expert .*--allow-mixed-experts/);
  const allowed = runCli(['merge', high, low, '-o', out, '--method', 'direct', '--allow-mixed-experts']);
  assert.equal(allowed.status, 0, allowed.stderr);
});

async function tensorsOf(file: string): Promise<Map<string, Float32Array>> {
  const opened = await SafetensorsFile.open(file);
  try {
    const tensors = new Map<string, Float32Array>();
    for (const tensor of opened.tensors) tensors.set(tensor.name, await opened.readF32(tensor));
    return tensors;
  } finally {
    await opened.close();
  }
}

test('merge --experts with two Wan 2.2 pairs writes OUT-high_noise and OUT-low_noise, each the 2-file merge of its expert\'s LoRAs', async () => {
  const [aHigh, aLow, bHigh, bLow] = await Promise.all([wanFile('A_high_noise', 30), wanFile('A_low_noise', 31), wanFile('B_HIGH', 32), wanFile('B_LOW', 33)]);
  const dir = tempDir();
  const result = runCli(['merge', '--experts', aHigh, aLow, bHigh, bLow, '-o', path.join(dir, 'AB.safetensors'), '--weights', '1,0.5,0.8,0.7']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /high-noise expert \(A_high_noise\.safetensors \+ B_HIGH\.safetensors\)/);
  assert.match(result.stdout, /low-noise expert \(A_low_noise\.safetensors \+ B_LOW\.safetensors\)/);
  for (const [expert, files, weights] of [['high_noise', [aHigh, bHigh], '1,0.8'], ['low_noise', [aLow, bLow], '0.5,0.7']] as const) {
    const single = path.join(dir, `single-${expert}.safetensors`);
    const alone = runCli(['merge', ...files, '-o', single, '--weights', weights]);
    assert.equal(alone.status, 0, alone.stderr);
    const [fromExperts, fromPair] = await Promise.all([tensorsOf(path.join(dir, `AB-${expert}.safetensors`)), tensorsOf(single)]);
    assert.deepEqual([...fromExperts.keys()].sort(), [...fromPair.keys()].sort());
    for (const [name, values] of fromPair) assert.deepEqual(fromExperts.get(name), values, name);
  }
});

test('merge --experts refuses inputs whose expert nothing names, and an expert with one LoRA', async () => {
  const high = await wanFile('C_high_noise', 40);
  const low = await wanFile('C_low_noise', 41);
  const plain = await wanFile('plain', 42);
  const out = path.join(tempDir(), 'x.safetensors');
  const unnamed = runCli(['merge', '--experts', high, low, plain, '-o', out]);
  assert.equal(unnamed.status, 2, unnamed.stderr);
  assert.match(unnamed.stderr, /plain\.safetensors names none/);
  const single = runCli(['merge', '--experts', high, low, '-o', out]);
  assert.match(single.stderr, /--experts needs at least two LoRAs for each expert, one merge per expert \(got 1 for the high-noise expert, 1 for the low-noise expert\)/);
});

test('compare and inspect show each Wan 2.2 LoRA\'s expert', async () => {
  const high = await wanFile('D_high_noise', 50);
  const low = await wanFile('D_low_noise', 51);
  const compared = runCli(['compare', high, low]);
  assert.equal(compared.status, 0, compared.stderr);
  assert.match(compared.stdout, /A  .*D_high_noise\.safetensors\n .*; Wan 2\.2 14B, high-noise expert;/);
  assert.match(compared.stdout, /B  .*D_low_noise\.safetensors\n .*; Wan 2\.2 14B, low-noise expert;/);
  const inspected = runCli(['inspect', low]);
  assert.match(inspected.stdout, /Base model\s+Wan 2\.2 14B, low-noise expert \(.*file name "D_low_noise" names the low-noise expert\)/);
});

test('the charts group an LTX-2 file into its 48 transformer blocks, the input projections before them and both output projections after', () => {
  const modules = LTX2_NATIVE.map((l) => l.canonical);
  const spans = blockSpans(inNetworkOrder(modules, (m) => m));
  const names = spans.map((s) => s.block.name);
  assert.equal(names.filter((n) => /^transformer\.transformer_blocks\.\d+$/.test(n)).length, 48);
  const first = names.indexOf('transformer.transformer_blocks.0');
  const last = names.indexOf('transformer.transformer_blocks.47');
  assert.ok(names.indexOf('transformer.patchify_proj') < first && names.indexOf('transformer.audio_patchify_proj') < first, names.join(', '));
  assert.ok(names.indexOf('transformer.proj_out') > last && names.indexOf('transformer.audio_proj_out') > last, names.join(', '));
  assert.equal(blockOf('transformer.transformer_blocks.5.video_to_audio_attn.to_k').shortLabels[1], 'tb 5');
});
