/**
 * The newest image families: Flux.2 [dev], Chroma and HiDream-I1, in the namings trainers write, and the base-model
 * refusals between them and Flux.1. Files are generated from the layouts in test/fixtures (real names and shapes, each
 * with its provenance) at rank 1 with random values.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { layerTensorNames } from '../../src/core/lora/naming';
import { pairLayers } from '../../src/core/lora/pairing';
import { assertPairing, generate, opened, PairingCase, side, withKohyaNames } from '../support/family-fixtures';
import { tempDir } from '../support/build-safetensors';
import { GeneratedScheme, LayerSpec, layersFromLayout, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { runCli } from '../support/run-cli';

const layout = (file: string) => layersFromLayout(file, 1);

const FLUX2_BFL = withKohyaNames(layout('flux2-dev-transformer.layout.json'));
const FLUX2_DIFFUSERS = layout('flux2-dev-diffusers-transformer.layout.json');
const CHROMA_NATIVE = withKohyaNames(layout('chroma-transformer.layout.json'));
const CHROMA_DIFFUSERS = layout('chroma-diffusers-transformer.layout.json');
const HIDREAM = withKohyaNames(layout('hidream-i1-transformer.layout.json'));
const FLUX1_BFL = withKohyaNames(layout('flux1-dev-transformer.layout.json'));
/** Chroma's attention and MLP layers only: the same names and shapes as Flux.1's. */
const CHROMA_BLOCKS_ONLY = CHROMA_NATIVE.filter((l) => !l.canonical.includes('distilled_guidance_layer'));

const CASES: PairingCase[] = [
  ...([
    ['ai-toolkit / BFL (diffusion_model.double_blocks)', 'native-diffusion-model', 'diffusion_model.double_blocks.7.txt_mlp.0.lora_A.weight', 'transformer.transformer_blocks.7.ff_context.linear_in'],
    ['kohya (lora_unet_double_blocks_…)', 'kohya', 'lora_unet_single_blocks_47_linear1.lora_down.weight', 'transformer.single_transformer_blocks.47.attn.to_qkv_mlp_proj'],
  ] as const).map(([naming, scheme, tensor, module]): PairingCase => ({
    name: `Flux.2 [dev] ${naming} ↔ diffusers (split qkv, ff.linear_in, attn.to_qkv_mlp_proj)`,
    first: { layers: FLUX2_BFL, scheme },
    second: { layers: FLUX2_DIFFUSERS, scheme: 'peft' },
    family: 'flux2',
    // 8 double blocks × 8 modules (img / txt qkv, proj, mlp.0, mlp.2) + 48 single blocks × 2 (linear1, linear2).
    paired: 8 * 8 + 48 * 2,
    fusedSplit: 8 * 2,
    example: [tensor, module],
  })),
  {
    name: 'Chroma ComfyUI (diffusion_model.double_blocks, distilled_guidance_layer in_layer) ↔ diffusers (split, linear_1)',
    first: { layers: CHROMA_NATIVE, scheme: 'native-diffusion-model' },
    second: { layers: CHROMA_DIFFUSERS, scheme: 'peft' },
    family: 'chroma',
    // 19 × 8 + 38 × 2 block modules, and the approximator's in_proj, 5 × in_layer / out_layer, out_proj.
    paired: 19 * 8 + 38 * 2 + 12,
    fusedSplit: 19 * 2 + 38,
    example: ['diffusion_model.distilled_guidance_layer.layers.4.out_layer.lora_A.weight', 'transformer.distilled_guidance_layer.layers.4.linear_2'],
  },
  {
    name: 'Chroma kohya (lora_unet_) ↔ ComfyUI (diffusion_model.), the same native modules',
    first: { layers: CHROMA_NATIVE, scheme: 'kohya' },
    second: { layers: CHROMA_NATIVE, scheme: 'native-diffusion-model' },
    family: 'chroma',
    paired: CHROMA_NATIVE.length,
    fusedSplit: 0,
    example: ['lora_unet_distilled_guidance_layer_in_proj.lora_down.weight', 'transformer.distilled_guidance_layer.in_proj'],
  },
  ...([
    ['ComfyUI kohya names (lora_unet_double_stream_blocks_…)', 'kohya', 'lora_unet_double_stream_blocks_15_block_attn1_to_out_t.lora_down.weight'],
    ['ai-toolkit (diffusion_model.double_stream_blocks)', 'native-diffusion-model', 'diffusion_model.double_stream_blocks.15.block.attn1.to_out_t.lora_A.weight'],
  ] as const).map(([naming, scheme, tensor]): PairingCase => ({
    name: `HiDream-I1 ${naming} ↔ diffusers / SimpleTuner (transformer.)`,
    first: { layers: HIDREAM, scheme },
    second: { layers: HIDREAM, scheme: 'peft' },
    family: 'hidream',
    // 16 double blocks × (8 attention + 15 ff_i + 3 ff_t) + 32 single blocks × (4 attention + 15 ff_i).
    paired: 16 * 26 + 32 * 19,
    fusedSplit: 0,
    example: [tensor, 'transformer.double_stream_blocks.15.block.attn1.to_out_t'],
  })),
];

CASES.forEach((c, i) => {
  test(`compare pairs every module the two share: ${c.name}`, async () => {
    const first = await generate(c.first.layers, c.first.scheme, 200 + 2 * i);
    const second = await generate(c.second.layers, c.second.scheme, 201 + 2 * i);
    await opened(first, (x) => opened(second, async (y) => {
      assert.deepEqual([x.lora.problems, y.lora.problems], [[], []]);
      assert.deepEqual([x.lora.baseModel.family, y.lora.baseModel.family], [c.family, c.family], `${x.lora.baseModel.evidence.join('; ')} | ${y.lora.baseModel.evidence.join('; ')}`);
      assertPairing(pairLayers(side('first', x), side('second', y)), c);
    }));
  });
});

/** Every layout, the family and label inspect names, and a piece of the evidence it must show. */
const INSPECTED: [layers: LayerSpec[], scheme: GeneratedScheme, family: string, label: string, evidence: RegExp][] = [
  [FLUX2_BFL, 'native-diffusion-model', 'flux2', 'Flux.2 [dev]', /double_blocks\.0–7 \(8 blocks\), single_blocks\.0–47 \(48 blocks\); single_blocks\.\d+\.linear1 is 55296×6144: 9 × hidden rows/],
  [FLUX2_DIFFUSERS, 'peft', 'flux2', 'Flux.2 [dev]', /single_transformer_blocks\.0–47 \(48 blocks\); .*to_qkv_mlp_proj is 55296×6144.*hidden size 6144/],
  [FLUX2_BFL.filter((l) => /attn\.(qkv|proj)$/.test(l.canonical)), 'kohya', 'flux2', 'Flux.2 [dev]', /width 6144 \(Flux\.2 \[dev\]; Flux\.1 and Chroma are 3072 wide\)/],
  [CHROMA_NATIVE, 'kohya', 'chroma', 'Chroma', /double_blocks\.0–18 \(19 blocks\), single_blocks\.0–37 \(38 blocks\); distilled_guidance_layer/],
  [CHROMA_DIFFUSERS, 'peft', 'chroma', 'Chroma', /distilled_guidance_layer \(the approximator/],
  [CHROMA_BLOCKS_ONLY, 'kohya', 'flux', 'Flux.1 or Chroma', /no modulation or guidance layer .*cannot tell Flux\.1 from Chroma/],
  [FLUX1_BFL, 'kohya', 'flux', 'Flux', /double_blocks\.0\.img_mod\.lin: a modulation \/ guidance layer Flux\.1 has and Chroma does not/],
  [HIDREAM, 'native-diffusion-model', 'hidream', 'HiDream-I1', /double_stream_blocks\.0–15 \(16 blocks\), single_stream_blocks\.0–31 \(32 blocks\); width 2560/],
];

INSPECTED.forEach(([layers, scheme, family, label, evidence], i) => {
  test(`the base model of a ${label} LoRA (${scheme}, ${layers.length} modules) is told with its evidence`, async () => {
    const file = await generate(layers, scheme, 240 + i);
    await opened(file, async (x) => {
      assert.deepEqual(x.lora.problems, []);
      assert.deepEqual([x.lora.baseModel.family, x.lora.baseModel.label], [family, label], x.lora.baseModel.evidence.join('; '));
      assert.match(x.lora.baseModel.evidence.join('; '), evidence);
    });
  });
});

test('trainer metadata names Chroma before any Flux.1 rule: sd-scripts\' modelspec.architecture "chroma/lora" beside ss_base_model_version "flux1"', async () => {
  const file = path.join(tempDir(), 'chroma-metadata.safetensors');
  const random = seededRandom(251);
  await writeLora(file, CHROMA_BLOCKS_ONLY, (l) => randomLayerValues(l, random), { scheme: 'kohya', family: 'flux', metadata: { 'modelspec.architecture': 'chroma/lora', ss_base_model_version: 'flux1' } });
  await opened(file, async (y) => {
    assert.deepEqual([y.lora.baseModel.family, y.lora.baseModel.evidence], ['chroma', ['metadata modelspec.architecture = "chroma/lora"']]);
  });
});

test('kohya output names: Flux.2 and Chroma in the BFL layout under lora_unet_, HiDream-I1 its own names under lora_unet_', () => {
  assert.equal(layerTensorNames('transformer.single_blocks.3.linear1', 'kohya', 'flux2').down, 'lora_unet_single_blocks_3_linear1.lora_down.weight');
  assert.equal(layerTensorNames('transformer.distilled_guidance_layer.layers.2.in_layer', 'kohya', 'chroma').down, 'lora_unet_distilled_guidance_layer_layers_2_in_layer.lora_down.weight');
  assert.equal(layerTensorNames('transformer.double_stream_blocks.0.block.ff_i.shared_experts.w1', 'kohya', 'hidream').down, 'lora_unet_double_stream_blocks_0_block_ff_i_shared_experts_w1.lora_down.weight');
});

// ---- Refusals ------------------------------------------------------------------------------------------------

/** Two files refused as LoRAs of different base models: one sentence naming both families with their evidence. */
const REFUSED: [name: string, first: [LayerSpec[], GeneratedScheme], second: [LayerSpec[], GeneratedScheme], message: RegExp][] = [
  ['a Chroma LoRA and a Flux.1 LoRA', [CHROMA_NATIVE, 'native-diffusion-model'], [FLUX1_BFL, 'kohya'], /different base models: first is for Chroma \(.*distilled_guidance_layer.*\), second is for Flux \(.*img_mod\.lin: a modulation/],
  ['a Flux.2 LoRA and a Flux.1 LoRA', [FLUX2_BFL, 'kohya'], [FLUX1_BFL, 'kohya'], /different base models: first is for Flux\.2 \[dev\] \(.*9 × hidden rows.*\), second is for Flux \(.*hidden size 3072/],
  ['a Flux.2 LoRA and a Chroma LoRA', [FLUX2_DIFFUSERS, 'peft'], [CHROMA_DIFFUSERS, 'peft'], /different base models: first is for Flux\.2 \[dev\] .*second is for Chroma/],
];

REFUSED.forEach(([name, [firstLayers, firstScheme], [secondLayers, secondScheme], message], i) => {
  test(`${name} are refused in one line that names both families and the evidence`, async () => {
    const first = await generate(firstLayers, firstScheme, 260 + 2 * i);
    const second = await generate(secondLayers, secondScheme, 261 + 2 * i);
    await opened(first, (x) => opened(second, async (y) => {
      const report = pairLayers(side('first', x), side('second', y));
      assert.match(report.incompatibility ?? '', message);
      assert.doesNotMatch(report.incompatibility ?? '', /\n/);
    }));
  });
});

test('a Flux.1-or-Chroma LoRA (attention and MLP layers only) pairs with a Chroma LoRA and with a Flux.1 LoRA', async () => {
  const ambiguous = await generate(CHROMA_BLOCKS_ONLY, 'kohya', 270);
  const chroma = await generate(CHROMA_DIFFUSERS, 'peft', 271);
  const flux = await generate(FLUX1_BFL, 'native-diffusion-model', 272);
  await opened(ambiguous, (x) => opened(chroma, (y) => opened(flux, async (z) => {
    const withChroma = pairLayers(side('ambiguous', x), side('chroma', y));
    assert.equal(withChroma.incompatibility, undefined);
    assert.equal(withChroma.paired.length, CHROMA_BLOCKS_ONLY.length);
    assert.equal(withChroma.onlyInSecond.length, 12, 'the approximator\'s layers are Chroma\'s own');
    const withFlux = pairLayers(side('ambiguous', x), side('flux', z));
    assert.equal(withFlux.incompatibility, undefined);
    assert.equal(withFlux.paired.length, CHROMA_BLOCKS_ONLY.length);
  })));
});

test('ziplora merge refuses a Chroma LoRA with a Flux.1 LoRA: one line on stderr, exit status 1, nothing written', async () => {
  const chroma = await generate(CHROMA_NATIVE.filter((l) => /\.(0|1)\.|distilled/.test(l.canonical)), 'kohya', 280);
  const flux = await generate(FLUX1_BFL.filter((l) => /_blocks\.(0|1)\./.test(l.canonical)), 'kohya', 281);
  const output = `${chroma}.merged.safetensors`;
  const result = runCli(['merge', chroma, flux, '-o', output]);
  assert.equal(result.status, 1, result.stdout);
  assert.match(result.stderr.trim(), /^[^\n]*different base models: [^\n]* is for Chroma \([^\n]*\), [^\n]* is for Flux \([^\n]*\)[^\n]*$/);
  assert.equal(existsSync(output), false);
});
