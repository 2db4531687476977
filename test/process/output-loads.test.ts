/**
 * The key sets the merge WRITES, checked against what ComfyUI, Forge, diffusers, kohya sd-scripts and musubi-tuner accept
 * (test/support/loader-rules.ts, one predicate per loader from its source). One row per family × inputs × --naming,
 * each merged two-way and three-way (N-way outputs pass the same rules as two-way ones),
 * with the loaders that must take the output: the table "Output that loads" in docs/model-families.md says the same. A new family
 * or naming is one more row. Files have real names and shapes (test/fixtures/*.layout.json, e.g. Flux.1-dev),
 * two blocks of each kind at rank 2.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runMerge } from '../../src/core/merge/pipeline';
import { NamingChoice } from '../../src/core/merge/request';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { withKohyaNames } from '../support/family-fixtures';
import { Loader, LOADERS_OF, loaderProblems, RuleFamily, WrittenTensor } from '../support/loader-rules';
import { NEWEST_LOADERS_OF, newestLoaderProblems, NewestFamily } from '../support/loader-rules-newest';
import { GeneratedScheme, LayerSpec, layersFromLayout, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { mergeRequestOf, SD15_LAYERS } from '../support/merge-fixtures';

const firstBlocks = (layers: LayerSpec[]) => layers.filter((l) => !/_blocks\.([2-9]|\d\d)\./.test(l.canonical));
const FLUX_BFL = firstBlocks(layersFromLayout('flux1-dev-transformer.layout.json', 2));
const FLUX_DIFFUSERS = firstBlocks(layersFromLayout('flux1-dev-diffusers-transformer.layout.json', 2));
/** SD3.5 Large blocks 0, 1 and the last (37: context_pre_only, its norm1_context 2·hidden, halves swapped). */
const sd3Blocks = (layers: LayerSpec[]) => layers.filter((l) => !/_blocks\.([2-9]|[12]\d|3[0-6])\./.test(l.canonical));
const SD3_NATIVE = sd3Blocks(layersFromLayout('sd3.5-large-transformer.layout.json', 2));
const SD3_DIFFUSERS = sd3Blocks(layersFromLayout('sd3.5-large-diffusers-transformer.layout.json', 2));
const twoBlocks = (layers: LayerSpec[]) => layers.filter((l) => !/blocks\.([2-9]|\d\d)\./.test(l.canonical));
const WAN_NATIVE = twoBlocks(layersFromLayout('wan2.1-14b-transformer.layout.json', 2));
const WAN_DIFFUSERS = twoBlocks(layersFromLayout('wan2.1-14b-diffusers-transformer.layout.json', 2));
const QWEN = twoBlocks(layersFromLayout('qwen-image-transformer.layout.json', 2));
/** HunyuanVideo double-stream blocks 0 and 19, single-stream 0 and 39: the last ones are past Flux's 19 + 38, which tells the diffusers-named file's family. */
const hunyuanBlocks = (layers: LayerSpec[]) => layers.filter((l) => /^transformer\.(double_blocks|transformer_blocks)\.(0|19)\.|^transformer\.(single_blocks|single_transformer_blocks)\.(0|39)\./.test(l.canonical));
const HUNYUAN_NATIVE = hunyuanBlocks(layersFromLayout('hunyuan-video-transformer.layout.json', 2));
const HUNYUAN_DIFFUSERS = hunyuanBlocks(layersFromLayout('hunyuan-video-diffusers-transformer.layout.json', 2));
const twoLayers = (layers: LayerSpec[]) => layers.filter((l) => /\.layers\.[01]\./.test(l.canonical));
const LTX = twoBlocks(layersFromLayout('ltx-video-13b-transformer.layout.json', 2));
/** LTX-2 blocks 0 and 1 (video, audio and cross-modal attention, both feed-forwards) and the projections outside the blocks. */
const LTX2_NATIVE = twoBlocks(layersFromLayout('ltx2-native-transformer.layout.json', 2));
const LTX2_DIFFUSERS = twoBlocks(layersFromLayout('ltx2-transformer.layout.json', 2));
const LUMINA2_NATIVE = layersFromLayout('lumina2-transformer.layout.json', 2);
const LUMINA2_DIFFUSERS = layersFromLayout('lumina2-diffusers-transformer.layout.json', 2);
const Z_IMAGE_NATIVE = twoLayers(layersFromLayout('z-image-transformer.layout.json', 2));
const Z_IMAGE_DIFFUSERS = twoLayers(layersFromLayout('z-image-diffusers-transformer.layout.json', 2));
const FLUX2_BFL = firstBlocks(layersFromLayout('flux2-dev-transformer.layout.json', 2));
const FLUX2_DIFFUSERS = firstBlocks(layersFromLayout('flux2-dev-diffusers-transformer.layout.json', 2));
/** Chroma blocks 0 and 1 and its whole approximator (distilled_guidance_layer). */
const CHROMA_NATIVE = firstBlocks(layersFromLayout('chroma-transformer.layout.json', 2));
const CHROMA_DIFFUSERS = firstBlocks(layersFromLayout('chroma-diffusers-transformer.layout.json', 2));
const HIDREAM = firstBlocks(layersFromLayout('hidream-i1-transformer.layout.json', 2));

/** SDXL modules of each component (diffusers names; [out, in] of the SDXL base UNet and its two text encoders). */
const SDXL: LayerSpec[] = [
  { canonical: 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', downShape: [2, 640], upShape: [640, 2] },
  { canonical: 'unet.down_blocks.1.attentions.0.proj_in', downShape: [2, 640], upShape: [640, 2] },
  { canonical: 'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [2, 2048], upShape: [1280, 2] },
  { canonical: 'unet.up_blocks.0.attentions.1.transformer_blocks.2.ff.net.2', downShape: [2, 5120], upShape: [1280, 2] },
  { canonical: 'text_encoder.text_model.encoder.layers.0.self_attn.q_proj', downShape: [2, 768], upShape: [768, 2] },
  { canonical: 'text_encoder_2.text_model.encoder.layers.3.mlp.fc1', downShape: [2, 1280], upShape: [5120, 2] },
];

type Family = RuleFamily | NewestFamily;
const loadersOf = (family: Family): readonly Loader[] => (family in NEWEST_LOADERS_OF ? NEWEST_LOADERS_OF[family as NewestFamily] : LOADERS_OF[family as RuleFamily]);
const problemsOf = (loader: Loader, family: Family, tensors: WrittenTensor[]) =>
  family in NEWEST_LOADERS_OF ? newestLoaderProblems(loader, family as NewestFamily, tensors) : loaderProblems(loader, family as RuleFamily, tensors);

interface Row {
  readonly family: Family;
  readonly content: { readonly layers: LayerSpec[]; readonly scheme: GeneratedScheme };
  readonly style: { readonly layers: LayerSpec[]; readonly scheme: GeneratedScheme };
  readonly naming: NamingChoice;
  /** The loaders that must take every tensor of the output; the others must not (docs/model-families.md). */
  readonly loads: readonly Loader[];
}

const ROWS: Row[] = [
  { family: 'flux', content: { layers: FLUX_BFL, scheme: 'kohya' }, style: { layers: FLUX_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI', 'Forge', 'diffusers', 'kohya'] },
  { family: 'flux', content: { layers: FLUX_BFL, scheme: 'kohya' }, style: { layers: FLUX_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['ComfyUI', 'Forge', 'diffusers'] },
  { family: 'flux', content: { layers: FLUX_DIFFUSERS, scheme: 'peft' }, style: { layers: FLUX_BFL, scheme: 'kohya' }, naming: 'content', loads: ['ComfyUI', 'Forge', 'diffusers'] },
  { family: 'flux', content: { layers: FLUX_DIFFUSERS, scheme: 'peft' }, style: { layers: FLUX_BFL, scheme: 'kohya' }, naming: 'kohya', loads: ['ComfyUI', 'Forge', 'diffusers', 'kohya'] },
  { family: 'flux', content: { layers: FLUX_BFL, scheme: 'native-diffusion-model' }, style: { layers: FLUX_BFL, scheme: 'kohya' }, naming: 'content', loads: ['ComfyUI', 'Forge', 'diffusers'] },
  { family: 'flux', content: { layers: FLUX_BFL, scheme: 'kohya' }, style: { layers: FLUX_BFL, scheme: 'native-peft' }, naming: 'style', loads: ['ComfyUI', 'Forge', 'diffusers'] },
  // SD3.5, Wan, Qwen-Image, HunyuanVideo: ComfyUI, diffusers and (Wan, Qwen-Image, HunyuanVideo) musubi-tuner (LOADERS_OF).
  { family: 'sd3', content: { layers: SD3_NATIVE, scheme: 'kohya' }, style: { layers: SD3_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI'] },
  { family: 'sd3', content: { layers: SD3_NATIVE, scheme: 'kohya' }, style: { layers: SD3_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['ComfyUI', 'diffusers'] },
  { family: 'sd3', content: { layers: SD3_DIFFUSERS, scheme: 'peft' }, style: { layers: SD3_NATIVE, scheme: 'native-diffusion-model' }, naming: 'content', loads: ['ComfyUI', 'diffusers'] },
  { family: 'wan', content: { layers: WAN_NATIVE, scheme: 'kohya' }, style: { layers: WAN_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI', 'diffusers', 'musubi-tuner'] },
  // Wan in diffusers naming is for diffusers: ComfyUI has no key map for diffusers-named Wan modules.
  { family: 'wan', content: { layers: WAN_NATIVE, scheme: 'kohya' }, style: { layers: WAN_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['diffusers'] },
  { family: 'qwen-image', content: { layers: QWEN, scheme: 'kohya' }, style: { layers: QWEN, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI', 'diffusers', 'musubi-tuner'] },
  { family: 'qwen-image', content: { layers: QWEN, scheme: 'kohya' }, style: { layers: QWEN, scheme: 'peft' }, naming: 'diffusers', loads: ['ComfyUI', 'diffusers'] },
  // HunyuanVideo: musubi-tuner's names are Tencent's (img_mlp.fc1); ComfyUI's lora_unet_ keys are Flux's (img_mlp.0).
  { family: 'hunyuan-video', content: { layers: HUNYUAN_NATIVE, scheme: 'kohya' }, style: { layers: HUNYUAN_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['musubi-tuner'] },
  { family: 'hunyuan-video', content: { layers: HUNYUAN_NATIVE, scheme: 'kohya' }, style: { layers: HUNYUAN_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['diffusers'] },
  // LTX-Video (one naming: diffusers'): ComfyUI maps lora_unet_ / diffusion_model. / bare names, not transformer.; diffusers the reverse.
  { family: 'ltx-video', content: { layers: LTX, scheme: 'kohya' }, style: { layers: LTX, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI'] },
  { family: 'ltx-video', content: { layers: LTX, scheme: 'kohya' }, style: { layers: LTX, scheme: 'peft' }, naming: 'diffusers', loads: ['diffusers'] },
  // LTX-2: ComfyUI maps its own names (lora_unet_ / diffusion_model. + patchify_proj…); diffusers transformer. + its names
  // (proj_in…): kohya naming for ComfyUI, diffusers naming for diffusers, whichever layout the inputs have.
  { family: 'ltx-2', content: { layers: LTX2_NATIVE, scheme: 'native-diffusion-model' }, style: { layers: LTX2_DIFFUSERS, scheme: 'peft' }, naming: 'kohya', loads: ['ComfyUI'] },
  { family: 'ltx-2', content: { layers: LTX2_NATIVE, scheme: 'native-diffusion-model' }, style: { layers: LTX2_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['diffusers'] },
  { family: 'ltx-2', content: { layers: LTX2_DIFFUSERS, scheme: 'peft' }, style: { layers: withKohyaNames(LTX2_NATIVE), scheme: 'kohya' }, naming: 'style', loads: ['ComfyUI'] },
  // Lumina 2: ComfyUI maps the native names (and Z-Image's diffusers names, not Lumina 2's); diffusers PEFT keys as they are.
  { family: 'lumina2', content: { layers: LUMINA2_NATIVE, scheme: 'kohya' }, style: { layers: LUMINA2_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI'] },
  { family: 'lumina2', content: { layers: LUMINA2_NATIVE, scheme: 'kohya' }, style: { layers: LUMINA2_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['diffusers'] },
  // Z-Image: musubi-tuner's own names are split (attention_to_q), kohya naming here is fused (attention_qkv, ComfyUI's);
  // diffusers' ZImageLoraLoaderMixin is newer than the diffusers source read.
  { family: 'z-image', content: { layers: Z_IMAGE_NATIVE, scheme: 'kohya' }, style: { layers: Z_IMAGE_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI'] },
  { family: 'z-image', content: { layers: Z_IMAGE_NATIVE, scheme: 'kohya' }, style: { layers: Z_IMAGE_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['ComfyUI'] },
  // Flux.2: ComfyUI maps its BFL names, diffusers its own; an ai-toolkit (diffusion_model.) content is written in diffusers naming.
  { family: 'flux2', content: { layers: FLUX2_BFL, scheme: 'kohya' }, style: { layers: FLUX2_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI'] },
  { family: 'flux2', content: { layers: FLUX2_BFL, scheme: 'kohya' }, style: { layers: FLUX2_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: ['diffusers'] },
  { family: 'flux2', content: { layers: FLUX2_BFL, scheme: 'native-diffusion-model' }, style: { layers: FLUX2_BFL, scheme: 'kohya' }, naming: 'content', loads: ['diffusers'] },
  // Chroma: ComfyUI maps its own names and (as a Flux model) Flux.1's diffusers block names, not diffusers' approximator names.
  { family: 'chroma', content: { layers: CHROMA_NATIVE, scheme: 'kohya' }, style: { layers: CHROMA_DIFFUSERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI'] },
  { family: 'chroma', content: { layers: CHROMA_NATIVE, scheme: 'kohya' }, style: { layers: CHROMA_DIFFUSERS, scheme: 'peft' }, naming: 'diffusers', loads: [] },
  // HiDream-I1 (one naming): ComfyUI maps lora_unet_ / diffusion_model. / transformer. names, diffusers transformer. ones.
  { family: 'hidream', content: { layers: HIDREAM, scheme: 'kohya' }, style: { layers: HIDREAM, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI'] },
  { family: 'hidream', content: { layers: HIDREAM, scheme: 'kohya' }, style: { layers: HIDREAM, scheme: 'peft' }, naming: 'diffusers', loads: ['ComfyUI', 'diffusers'] },
  { family: 'sd1', content: { layers: SD15_LAYERS, scheme: 'kohya' }, style: { layers: SD15_LAYERS, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI', 'Forge', 'diffusers', 'kohya'] },
  { family: 'sd1', content: { layers: SD15_LAYERS, scheme: 'kohya' }, style: { layers: SD15_LAYERS, scheme: 'peft' }, naming: 'diffusers', loads: ['diffusers'] },
  { family: 'sdxl', content: { layers: SDXL, scheme: 'kohya' }, style: { layers: SDXL, scheme: 'peft' }, naming: 'content', loads: ['ComfyUI', 'Forge', 'diffusers', 'kohya'] },
  { family: 'sdxl', content: { layers: SDXL, scheme: 'peft' }, style: { layers: SDXL, scheme: 'kohya' }, naming: 'content', loads: ['diffusers'] },
];

const FAMILY_METADATA: Record<Family, Record<string, string>> = {
  sd1: { ss_base_model_version: 'sd_v1' },
  sdxl: { ss_base_model_version: 'sdxl_base_v1-0' },
  flux: { ss_base_model_version: 'flux1' },
  // No trainer metadata read for these yet: recognised from their module names.
  sd3: {},
  wan: {},
  'qwen-image': {},
  'hunyuan-video': {},
  'ltx-video': {},
  'ltx-2': {},
  lumina2: {},
  'z-image': {},
  flux2: {},
  chroma: {},
  hidream: {},
};

/**
 * The row's merge: two-way (content, style), or three-way with a third input in the style's layers and scheme (another
 * seed), ZipLoRA and `--rank-energy` so that the ranks written are picked per layer (the header written last).
 */
async function mergedTensors(row: Row, way: 2 | 3): Promise<{ tensors: WrittenTensor[]; alphas: Map<string, number>; ranks: Map<string, number> }> {
  const dir = tempDir();
  const sides = way === 2 ? [row.content, row.style] : [row.content, row.style, row.style];
  const files = sides.map((side, i) => path.join(dir, `${['content', 'style', 'third'][i]}-${side.scheme}.safetensors`));
  for (const [i, side] of sides.entries()) {
    const random = seededRandom(40 + i);
    // kohya files get metadata naming the base model; the others are recognised from their module names.
    await writeLora(files[i], side.layers, (l) => randomLayerValues(l, random), { scheme: side.scheme, family: row.family, dtype: 'F16', metadata: side.scheme === 'kohya' ? FAMILY_METADATA[row.family] : {} });
  }
  const output = path.join(dir, 'merged.safetensors');
  const options = way === 2 ? { method: 'direct' as const } : { solver: 'adam' as const, steps: 2, rankEnergy: 0.9 };
  await runMerge(mergeRequestOf(files, output, { ...options, naming: row.naming, dtype: 'auto' }));
  return withSafetensors(output, async (read) => {
    const alphas = new Map<string, number>();
    const ranks = new Map<string, number>();
    for (const t of read.tensors) {
      if (t.name.endsWith('.alpha')) alphas.set(t.name.slice(0, -'.alpha'.length), (await read.readF32(t))[0]);
      const down = /^(.+)\.(lora_down|lora_A)\.weight$/.exec(t.name);
      if (down) ranks.set(down[1], t.shape[0]);
    }
    return { tensors: read.tensors.map((t) => ({ name: t.name, shape: [...t.shape] })), alphas, ranks };
  });
}

for (const row of ROWS) for (const way of [2, 3] as const) {
  const inputs = way === 2 ? `${row.content.scheme} content + ${row.style.scheme} style` : `3-way ${row.content.scheme} + ${row.style.scheme} + ${row.style.scheme}, --rank-energy`;
  const label = `${row.family}: ${inputs}, --naming ${row.naming}`;
  test(`${label} → loads in ${row.loads.join(', ') || 'none of the loaders checked'}`, async () => {
    const { tensors, alphas, ranks } = await mergedTensors(row, way);
    for (const loader of loadersOf(row.family)) {
      const problems = problemsOf(loader, row.family, tensors);
      if (row.loads.includes(loader)) assert.deepEqual(problems.slice(0, 5), [], `${loader} must load every written tensor`);
      else assert.ok(problems.length > 0, `${loader} is not expected to load this naming, yet every key passed its rule`);
    }
    // kohya naming: one alpha per module, equal to its rank (scale 1, so nothing is rescaled); diffusers naming: none.
    const kohya = tensors.some((t) => t.name.endsWith('.lora_down.weight'));
    if (kohya) for (const [module, rank] of ranks) assert.equal(alphas.get(module), rank, `alpha of ${module}`);
    else assert.equal(alphas.size, 0, 'diffusers/PEFT naming writes no alpha');
  });
}
