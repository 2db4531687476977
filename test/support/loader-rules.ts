/**
 * What the LoRA loaders people use accept, as small predicates over a file's tensor names and shapes — so that the
 * key sets the merge WRITES can be checked against them (test/process/output-loads.test.ts; docs/model-families.md "Output that
 * loads"). Each rule is written from the loader's source (facts, not code), named in `source`:
 *   ComfyUI  Comfy-Org/ComfyUI comfy/lora.py @17358c8f (model_lora_keys_unet / model_lora_keys_clip / load_lora) and
 *            comfy/weight_adapter/lora.py @6f98b150 (LoRAAdapter.load: the factor suffixes); HunyuanVideo's own names from
 *            comfyanonymous/ComfyUI comfy/ldm/hunyuan_video/model.py @040a3243
 *   Forge    lllyasviel/stable-diffusion-webui-forge backend/patcher/lora.py → packages_3rdparty/comfyui_lora_collection/
 *            lora.py @00f1cd36 (an older copy of ComfyUI's key map: its Flux branch maps `transformer.` + diffusers
 *            names only, no lora_transformer_ / lycoris_ / bare forms)
 *   diffusers huggingface/diffusers src/diffusers/loaders/lora_pipeline.py (the StableDiffusion and Flux lora_state_dict,
 *            load_lora_weights) and lora_conversion_utils.py (_convert_non_diffusers_lora_to_diffusers,
 *            _convert_kohya_flux_lora_to_diffusers), @019c4962
 *   kohya    kohya-ss/sd-scripts networks/lora.py and networks/lora_flux.py (create_network_from_weights: module
 *            names lora_unet_ / lora_te*_ + the model's own module path, lora_down / lora_up / alpha)
 *   diffusers (SD3.5, Wan, Qwen-Image, HunyuanVideo, LTX-Video, Lumina 2) SD3LoraLoaderMixin, WanLoraLoaderMixin,
 *            HunyuanVideoLoraLoaderMixin, LTXVideoLoraLoaderMixin, Lumina2LoraLoaderMixin: lora_state_dict /
 *            load_lora_weights in lora_pipeline.py @019c4962 with lora_conversion_utils.py @019c4962
 *            (_convert_non_diffusers_wan_lora_to_diffusers, _convert_musubi_wan_lora_to_diffusers,
 *            _convert_hunyuan_video_lora_to_diffusers, _convert_non_diffusers_ltxv_lora_to_diffusers,
 *            _convert_non_diffusers_lumina2_lora_to_diffusers); QwenImageLoraLoaderMixin from the stored lora_pipeline.py that has
 *            it (the index names no commit for that version) with _convert_non_diffusers_qwen_lora_to_diffusers as it reads
 *            there (no huggingface/diffusers version of lora_conversion_utils.py with it is stored: read from a copy)
 *   diffusers (LTX-2) LTX2LoraLoaderMixin.lora_state_dict / load_lora_weights and
 *            _convert_non_diffusers_ltx2_lora_to_diffusers, read from ChrisColeTech/diffusers (a copy of huggingface/diffusers:
 *            lora_pipeline.py @3a24f2b2, lora_conversion_utils.py @725959a4; the stored huggingface/diffusers versions predate
 *            LTX-2); ComfyUI's LTX-2 (model_base.LTXAV) shares LTX-Video's branch of model_lora_keys_unet @17358c8f
 *   musubi-tuner kohya-ss/musubi-tuner src/musubi_tuner/networks/lora_wan.py @88c1a76a, lora_qwen_image.py @2a1eac8b,
 *            lora.py (HunyuanVideo: MMDoubleStreamBlock / MMSingleStreamBlock): `lora_unet` + the module path inside the
 *            target blocks with `.` → `_`, lora_down / lora_up / alpha
 * A rule returns the problems it finds, each naming a tensor; [] means the loader takes every tensor of the file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { layersFromLayout } from './lora-generators';

export type Loader = 'ComfyUI' | 'Forge' | 'diffusers' | 'kohya' | 'musubi-tuner';
export const LOADERS: readonly Loader[] = ['ComfyUI', 'Forge', 'diffusers', 'kohya'];
export type RuleFamily = 'sd1' | 'sdxl' | 'flux' | 'sd3' | 'wan' | 'qwen-image' | 'hunyuan-video' | 'ltx-video' | 'ltx-2' | 'lumina2' | 'z-image';

/** The loaders whose rules are encoded per family (not yet: Forge's for the DiT families, diffusers' for Z-Image). */
export const LOADERS_OF: Record<RuleFamily, readonly Loader[]> = {
  sd1: LOADERS, sdxl: LOADERS, flux: LOADERS,
  sd3: ['ComfyUI', 'diffusers'],
  wan: ['ComfyUI', 'diffusers', 'musubi-tuner'],
  'qwen-image': ['ComfyUI', 'diffusers', 'musubi-tuner'],
  'hunyuan-video': ['ComfyUI', 'diffusers', 'musubi-tuner'],
  'ltx-video': ['ComfyUI', 'diffusers'],
  'ltx-2': ['ComfyUI', 'diffusers'],
  lumina2: ['ComfyUI', 'diffusers'],
  'z-image': ['ComfyUI'],
};

export interface WrittenTensor {
  readonly name: string;
  readonly shape: readonly number[];
}

export type Shape = readonly [out: number, inFeatures: number];

/** Flux.1 modules outside the blocks (black-forest-labs/flux src/flux/model.py; diffusers transformer_flux.py names). */
const FLUX_GLOBALS: ReadonlyArray<[bfl: string, diffusers: string, shape: Shape]> = [
  ['img_in', 'x_embedder', [3072, 64]],
  ['txt_in', 'context_embedder', [3072, 4096]],
  ['time_in.in_layer', 'time_text_embed.timestep_embedder.linear_1', [3072, 256]],
  ['time_in.out_layer', 'time_text_embed.timestep_embedder.linear_2', [3072, 3072]],
  ['vector_in.in_layer', 'time_text_embed.text_embedder.linear_1', [3072, 768]],
  ['vector_in.out_layer', 'time_text_embed.text_embedder.linear_2', [3072, 3072]],
  ['guidance_in.in_layer', 'time_text_embed.guidance_embedder.linear_1', [3072, 256]],
  ['guidance_in.out_layer', 'time_text_embed.guidance_embedder.linear_2', [3072, 3072]],
  ['final_layer.linear', 'proj_out', [64, 3072]],
  ['final_layer.adaLN_modulation.1', 'norm_out.linear', [6144, 3072]],
];

function layoutModules(fileName: string): Map<string, Shape> {
  const layout = JSON.parse(readFileSync(path.join(__dirname, '../fixtures', fileName), 'utf8')) as { blocks: Record<string, number>; modules: Record<string, [number, number]> };
  const modules = new Map<string, Shape>();
  for (const [pattern, shape] of Object.entries(layout.modules)) {
    const count = layout.blocks[pattern.split('.')[0]];
    if (count === undefined) modules.set(pattern, shape);
    else for (let n = 0; n < count; n++) modules.set(pattern.replace('.N.', `.${n}.`), shape);
  }
  return modules;
}

/** The Flux.1-dev transformer's LoRA-able modules in each naming, with [out, in] (the diffusers ones are row slices of the fused BFL weights). */
export const FLUX_MODULES = {
  bfl: new Map([...layoutModules('flux1-dev-transformer.layout.json'), ...FLUX_GLOBALS.map(([b, , s]) => [b, s] as const)]),
  diffusers: new Map([...layoutModules('flux1-dev-diffusers-transformer.layout.json'), ...FLUX_GLOBALS.map(([, d, s]) => [d, s] as const)]),
};

export const flat = (p: string) => p.replace(/\./g, '_');

/** Factor and alpha suffixes each loader reads (ComfyUI: weight_adapter/lora.py; diffusers PEFT: lora_A/lora_B). */
export const SUFFIX = {
  comfy: /^(.+?)(\.lora_down\.weight|\.lora_up\.weight|\.lora_A\.weight|\.lora_B\.weight|\.lora\.down\.weight|\.lora\.up\.weight|\.alpha)$/,
  kohya: /^(.+?)(\.lora_down\.weight|\.lora_up\.weight|\.alpha)$/,
  peft: /^(.+?)(\.lora_A\.weight|\.lora_B\.weight)$/,
};
const isDown = (suffix: string) => /down|lora_A/.test(suffix);
const isUp = (suffix: string) => /up|lora_B/.test(suffix);

/** The tensors of a file grouped by module, under one suffix convention; names it cannot split are problems. */
export function modulesOf(tensors: readonly WrittenTensor[], suffix: RegExp, loader: string): { modules: Map<string, Map<string, WrittenTensor>>; problems: string[] } {
  const modules = new Map<string, Map<string, WrittenTensor>>();
  const problems: string[] = [];
  for (const t of tensors) {
    const m = suffix.exec(t.name);
    if (!m) {
      problems.push(`${t.name}: not a factor or alpha name ${loader} reads`);
      continue;
    }
    const parts = modules.get(m[1]) ?? new Map<string, WrittenTensor>();
    parts.set(m[2], t);
    modules.set(m[1], parts);
  }
  return { modules, problems };
}

/**
 * Each module: a down and an up factor of one rank, an alpha (if any) a single value, and ΔW = up·down of the
 * target's [out, in] (a conv's down may be r × in × kh × kw, its up out × r × 1 × 1).
 */
export function factorProblems(module: string, parts: Map<string, WrittenTensor>, target: Shape | undefined, alpha: 'optional' | 'absent'): string[] {
  const down = [...parts].find(([s]) => isDown(s))?.[1];
  const up = [...parts].find(([s]) => isUp(s))?.[1];
  const alphaTensor = parts.get('.alpha');
  const problems: string[] = [];
  if (!down || !up) return [`${module}: has ${down ? 'no up' : 'no down'} factor`];
  if (down.shape[0] !== up.shape[1]) problems.push(`${module}: ranks differ (${down.name} ${JSON.stringify(down.shape)}, ${up.name} ${JSON.stringify(up.shape)})`);
  if (up.shape.length === 4 && (up.shape[2] !== 1 || up.shape[3] !== 1)) problems.push(`${up.name}: up of a conv must be out × r × 1 × 1`);
  if (target && (up.shape[0] !== target[0] || down.shape[1] !== target[1])) {
    problems.push(`${module}: ΔW is ${up.shape[0]} × ${down.shape[1]}, the model's weight is ${target[0]} × ${target[1]}`);
  }
  if (alphaTensor && alpha === 'absent') problems.push(`${alphaTensor.name}: this loader does not read an alpha (the scale would be 1 either way, but the key is not loaded)`);
  if (alphaTensor && alphaTensor.shape.reduce((a, b) => a * b, 1) !== 1) problems.push(`${alphaTensor.name}: alpha must be one value`);
  return problems;
}

// ---- Flux ----------------------------------------------------------------------------------------------------

/**
 * ComfyUI / Forge: `lora_unet_` + BFL path with `_` and `diffusion_model.` + BFL path (every model), `transformer.` +
 * diffusers path (the Flux branch); ComfyUI's Flux branch also maps `lora_transformer_` / `lycoris_` + diffusers path
 * with `_` and the bare diffusers path.
 */
function comfyFluxTarget(module: string, loader: Loader): Shape | undefined {
  for (const [bfl, shape] of FLUX_MODULES.bfl) if (module === `diffusion_model.${bfl}` || module === `lora_unet_${flat(bfl)}`) return shape;
  for (const [d, shape] of FLUX_MODULES.diffusers) {
    if (module === `transformer.${d}`) return shape;
    if (loader === 'ComfyUI' && (module === `lora_transformer_${flat(d)}` || module === `lycoris_${flat(d)}` || module === d)) return shape;
  }
  return undefined;
}

function comfyFlux(tensors: readonly WrittenTensor[], loader: Loader): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.comfy, loader);
  for (const [module, parts] of modules) {
    const target = comfyFluxTarget(module, loader);
    if (!target) problems.push(`${module}: no Flux weight of that name in ${loader}'s key map ("lora key not loaded")`);
    problems.push(...factorProblems(module, parts, target, 'optional'));
  }
  return problems;
}

/** diffusers FluxLoraLoaderMixin: which branch of lora_state_dict the file takes, and what that branch keeps. */
function diffusersFlux(tensors: readonly WrittenTensor[]): string[] {
  const names = tensors.map((t) => t.name);
  if (names.some((n) => n.includes('.lora_down.weight'))) {
    // _convert_kohya_flux_lora_to_diffusers
    if (names.some((n) => n.startsWith('transformer.'))) {
      return names.filter((n) => !n.startsWith('transformer.')).map((n) => `${n}: dropped (a file with any transformer.* key keeps only those)`);
    }
    const { modules, problems } = modulesOf(tensors, SUFFIX.kohya, 'diffusers (kohya branch)');
    const mixture = [...modules.keys()].some((m) => m.startsWith('lora_transformer_'));
    for (const [module, parts] of modules) {
      if (mixture && module.startsWith('lora_unet_')) {
        problems.push(`${module}: dropped (beside lora_transformer_* keys, lora_unet_* keys are discarded)`);
        continue;
      }
      const target = mixture
        ? [...FLUX_MODULES.diffusers].find(([d]) => module === `lora_transformer_${flat(d)}`)?.[1]
        : [...FLUX_MODULES.bfl].find(([b]) => module === `lora_unet_${flat(b)}`)?.[1];
      if (!target && !module.startsWith('lora_te')) problems.push(`${module}: not a module the kohya converter knows (ValueError "Incompatible keys detected")`);
      problems.push(...factorProblems(module, parts, target, 'optional'));
    }
    return problems;
  }
  // PEFT keys as they are: only `transformer.` (and `text_encoder.`) prefixed ones are loaded.
  const { modules, problems } = modulesOf(tensors, /^(.+?)(\.lora_A\.weight|\.lora_B\.weight|\.alpha)$/, 'diffusers');
  for (const [module, parts] of modules) {
    const target = module.startsWith('transformer.') ? FLUX_MODULES.diffusers.get(module.slice('transformer.'.length)) : undefined;
    if (!target) problems.push(`${module}: not loaded (diffusers loads transformer.<FluxTransformer2DModel module> keys only)`);
    problems.push(...factorProblems(module, parts, target, 'optional'));
  }
  return problems;
}

/** sd-scripts networks/lora_flux.py: `lora_unet_` + the BFL module path, lora_down / lora_up / alpha. */
function kohyaFlux(tensors: readonly WrittenTensor[]): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.kohya, 'sd-scripts');
  for (const [module, parts] of modules) {
    const target = [...FLUX_MODULES.bfl].find(([b]) => module === `lora_unet_${flat(b)}`)?.[1];
    if (!target && !/^lora_te[13]_/.test(module)) problems.push(`${module}: sd-scripts' Flux network has no module of that name`);
    problems.push(...factorProblems(module, parts, target, 'optional'));
  }
  return problems;
}

// ---- SD1.x / SDXL --------------------------------------------------------------------------------------------

const KOHYA_SD_PREFIXES = /^lora_(unet|te|te1|te2)_/;
/** kohya UNet paths: diffusers layout for SD1.x (down_blocks_…), LDM layout for SDXL (input_blocks_…, sd-scripts' sdxl_original_unet). */
const KOHYA_UNET = { sd1: /^lora_unet_(down_blocks|mid_block|up_blocks|conv_in|conv_out|time_embedding)_/, sdxl: /^lora_unet_(input_blocks|middle_block|output_blocks|time_embed|label_emb|out)_/ };
const KOHYA_TE = /^lora_te[12]?_text_model_encoder_layers_\d+_(self_attn_(q|k|v|out)_proj|mlp_fc[12])$/;

function kohyaSdModuleOk(module: string, family: 'sd1' | 'sdxl'): boolean {
  if (family === 'sd1' && module.startsWith('lora_te_')) return KOHYA_TE.test(module);
  if (family === 'sdxl' && /^lora_te[12]_/.test(module)) return KOHYA_TE.test(module);
  return KOHYA_UNET[family].test(module);
}

/** ComfyUI / Forge, SD: kohya names (lora_unet_ in diffusers or LDM layout, lora_te*), and diffusers `unet.` names only in attention-processor form. */
function comfySd(tensors: readonly WrittenTensor[], family: 'sd1' | 'sdxl', loader: Loader): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.comfy, loader);
  for (const [module, parts] of modules) {
    let known: boolean;
    if (module.startsWith('lora_')) known = KOHYA_UNET.sd1.test(module) || KOHYA_UNET.sdxl.test(module) || KOHYA_TE.test(module);
    else if (/^text_encoder(_2)?\.text_model\.encoder\.layers\.\d+\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])$/.test(module)) known = family === 'sdxl' || !module.startsWith('text_encoder_2.');
    // unet.<diffusers path>: attention projections are mapped only as `.processor.to_q` (old diffusers), not `.to_q`.
    else known = /^unet\.(down_blocks|mid_block|up_blocks)\./.test(module) && !/\.to_(q|k|v|out\.0)$/.test(module);
    if (!known) problems.push(`${module}: not in ${loader}'s SD key map ("lora key not loaded")`);
    problems.push(...factorProblems(module, parts, undefined, 'optional'));
  }
  return problems;
}

/** diffusers StableDiffusion(XL)LoraLoaderMixin: kohya names are converted only when EVERY key has a kohya prefix; else PEFT names by component. */
function diffusersSd(tensors: readonly WrittenTensor[], family: 'sd1' | 'sdxl'): string[] {
  const names = tensors.map((t) => t.name);
  if (names.some((n) => KOHYA_SD_PREFIXES.test(n))) {
    const strays = names.filter((n) => !KOHYA_SD_PREFIXES.test(n));
    if (strays.length) return strays.map((n) => `${n}: beside kohya keys, one non-kohya key stops the conversion (the file is read as diffusers and fails "Invalid LoRA checkpoint")`);
    const { modules, problems } = modulesOf(tensors, SUFFIX.kohya, 'diffusers (kohya conversion)');
    for (const [module, parts] of modules) {
      if (!kohyaSdModuleOk(module, family)) problems.push(`${module}: not a module _convert_non_diffusers_lora_to_diffusers maps for ${family}`);
      problems.push(...factorProblems(module, parts, undefined, 'optional'));
    }
    return problems;
  }
  const { modules, problems } = modulesOf(tensors, SUFFIX.peft, 'diffusers');
  for (const [module, parts] of modules) {
    const components = family === 'sdxl' ? /^(unet|text_encoder|text_encoder_2)\./ : /^(unet|text_encoder)\./;
    if (!components.test(module)) problems.push(`${module}: no pipeline component of that name`);
    problems.push(...factorProblems(module, parts, undefined, 'absent'));
  }
  return problems;
}

function kohyaSd(tensors: readonly WrittenTensor[], family: 'sd1' | 'sdxl'): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.kohya, 'sd-scripts');
  for (const [module, parts] of modules) {
    if (!kohyaSdModuleOk(module, family)) problems.push(`${module}: sd-scripts' ${family} network has no module of that name`);
    problems.push(...factorProblems(module, parts, undefined, 'optional'));
  }
  return problems;
}

// ---- Diffusion transformers in ComfyUI ----------------------------------------------------------------------

/** A layout's modules (path inside the transformer → [out, in]), every block expanded. */
export function layoutTargets(fileName: string): Map<string, Shape> {
  return new Map(layersFromLayout(fileName, 1).map((l) => [l.canonical.replace(/^transformer\./, ''), [l.upShape[0], l.downShape[1]] as const]));
}

type ComfyDitFamily = 'sd3' | 'wan' | 'qwen-image' | 'ltx-video' | 'ltx-2' | 'lumina2' | 'z-image';

/** The key names a module path gets in one of ComfyUI's map branches. */
type KeyForms = (path: string) => string[];
const GENERIC: KeyForms = (p) => [`lora_unet_${flat(p)}`, `diffusion_model.${p}`];

/**
 * What ComfyUI's model_lora_keys_unet maps for these models (comfy/lora.py @17358c8f): for every model `lora_unet_` +
 * its own module path with `_` and `diffusion_model.` + the path (GENERIC); then per model: SD3 `transformer.` /
 * `base_model.model.` + the diffusers path and `lora_transformer_` / `lycoris_` + it with `_` (mmdit_to_diffusers);
 * Qwen-Image (whose own names are diffusers-style) the bare path, `transformer.` + it and `lycoris_` + it with `_`;
 * LTX-Video (own names diffusers-style too) the bare path only, no `transformer.`; Lumina 2 / Z-Image (one NextDiT
 * branch) `diffusion_model.` / `transformer.` / bare / `lycoris_` + the names of z_image_to_diffusers, i.e. Z-Image's
 * diffusers names (`attention.to_q|to_k|to_v` as thirds of qkv, `attention.to_out.0`, `feed_forward.w1…`; read from a
 * copy of ComfyUI's comfy/utils.py function), not Lumina 2's (`attn.to_q`, `feed_forward.linear_1`: so none for Lumina 2,
 * whose grouped-query k and v the equal thirds would not fit either). Wan has no branch
 * of its own: diffusers-named Wan keys (`transformer.blocks.0.attn1.to_q`) are not in the key map.
 */
const COMFY_DIT: Record<ComfyDitFamily, { native: Map<string, Shape>; nativeForms: KeyForms; diffusers?: Map<string, Shape>; diffusersForms?: KeyForms }> = {
  sd3: {
    // The final norm the native layout file leaves out: final_layer.adaLN_modulation.1, as wide as its diffusers twin norm_out.linear (2·hidden × hidden).
    native: new Map([...layoutTargets('sd3.5-large-transformer.layout.json'), ['final_layer.adaLN_modulation.1', [4864, 2432]]]),
    nativeForms: GENERIC,
    diffusers: layoutTargets('sd3.5-large-diffusers-transformer.layout.json'),
    diffusersForms: (d) => [`transformer.${d}`, `base_model.model.${d}`, `lora_transformer_${flat(d)}`, `lycoris_${flat(d)}`],
  },
  wan: { native: layoutTargets('wan2.1-14b-transformer.layout.json'), nativeForms: GENERIC },
  'qwen-image': { native: layoutTargets('qwen-image-transformer.layout.json'), nativeForms: (p) => [...GENERIC(p), p, `transformer.${p}`, `lycoris_${flat(p)}`] },
  'ltx-video': { native: layoutTargets('ltx-video-13b-transformer.layout.json'), nativeForms: (p) => [...GENERIC(p), p] },
  // LTX-2 is model_base.LTXAV, mapped by LTX-Video's branch: its own names (patchify_proj…), not diffusers' (proj_in).
  'ltx-2': { native: layoutTargets('ltx2-native-transformer.layout.json'), nativeForms: (p) => [...GENERIC(p), p] },
  lumina2: { native: layoutTargets('lumina2-transformer.layout.json'), nativeForms: GENERIC },
  'z-image': {
    native: layoutTargets('z-image-transformer.layout.json'),
    nativeForms: GENERIC,
    diffusers: layoutTargets('z-image-diffusers-transformer.layout.json'),
    diffusersForms: (d) => [`diffusion_model.${d}`, `transformer.${d}`, d, `lycoris_${flat(d)}`],
  },
};

function comfyDitTarget(module: string, family: ComfyDitFamily): Shape | undefined {
  const rules = COMFY_DIT[family];
  for (const [p, shape] of rules.native) if (rules.nativeForms(p).includes(module)) return shape;
  for (const [d, shape] of rules.diffusers ?? []) if (rules.diffusersForms!(d).includes(module)) return shape;
  return undefined;
}

function comfyDit(tensors: readonly WrittenTensor[], family: ComfyDitFamily): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.comfy, 'ComfyUI');
  for (const [module, parts] of modules) {
    const target = comfyDitTarget(module, family);
    if (!target) problems.push(`${module}: no ${family} weight of that name in ComfyUI's key map ("lora key not loaded")`);
    problems.push(...factorProblems(module, parts, target, 'optional'));
  }
  return problems;
}

// ---- Diffusion transformers in diffusers and musubi-tuner; ComfyUI's HunyuanVideo map ----------------------

type DitFamily = 'sd3' | 'wan' | 'qwen-image' | 'hunyuan-video' | 'ltx-video' | 'ltx-2' | 'lumina2';

/** Each family's modules as diffusers' transformer names them, and as the model's own (native) code does. */
const DIT_TARGETS: Record<DitFamily, { diffusers: Map<string, Shape>; native: Map<string, Shape> }> = {
  sd3: { diffusers: COMFY_DIT.sd3.diffusers!, native: COMFY_DIT.sd3.native },
  wan: { diffusers: layoutTargets('wan2.1-14b-diffusers-transformer.layout.json'), native: COMFY_DIT.wan.native },
  // Qwen-Image's own module names are the diffusers ones.
  'qwen-image': { diffusers: COMFY_DIT['qwen-image'].native, native: COMFY_DIT['qwen-image'].native },
  'hunyuan-video': { diffusers: layoutTargets('hunyuan-video-diffusers-transformer.layout.json'), native: layoutTargets('hunyuan-video-transformer.layout.json') },
  'ltx-video': { diffusers: COMFY_DIT['ltx-video'].native, native: COMFY_DIT['ltx-video'].native },
  'ltx-2': { diffusers: layoutTargets('ltx2-transformer.layout.json'), native: COMFY_DIT['ltx-2'].native },
  lumina2: { diffusers: layoutTargets('lumina2-diffusers-transformer.layout.json'), native: COMFY_DIT.lumina2.native },
};

/**
 * What diffusers' load_lora_weights does with the keys lora_state_dict hands it: every key must contain "lora" (else
 * ValueError "Invalid LoRA checkpoint", so a PEFT-named `.alpha` fails the file), and load_lora_adapter keeps only
 * `transformer.` + a module of the diffusers model (lora_A / lora_B).
 */
function diffusersPeftProblems(tensors: readonly WrittenTensor[], family: DitFamily, why: string): string[] {
  const strays = tensors.filter((t) => !t.name.includes('lora'));
  if (strays.length) return strays.map((t) => `${t.name}: no "lora" in the name, so load_lora_weights refuses the file ("Invalid LoRA checkpoint")`);
  const { modules, problems } = modulesOf(tensors, SUFFIX.peft, `diffusers (${why})`);
  for (const [module, parts] of modules) {
    const target = module.startsWith('transformer.') ? DIT_TARGETS[family].diffusers.get(module.slice('transformer.'.length)) : undefined;
    if (!target && !/^text_encoder(_2)?\./.test(module)) problems.push(`${module}: not loaded (${why}: only transformer.<diffusers module> keys are loaded)`);
    problems.push(...factorProblems(module, parts, target, 'absent'));
  }
  return problems;
}

/** A kohya-suffixed file's modules, each with down, up and (required) alpha: the converters pop `.alpha` without a default. */
function kohyaModulesWithAlpha(tensors: readonly WrittenTensor[], converter: string): { modules: Map<string, Map<string, WrittenTensor>>; problems: string[] } {
  const { modules, problems } = modulesOf(tensors, SUFFIX.kohya, `diffusers ${converter}`);
  for (const [module, parts] of modules) if (!parts.has('.alpha')) problems.push(`${module}: no .alpha (${converter} pops it: KeyError)`);
  return { modules, problems };
}

/** SD3LoraLoaderMixin.lora_state_dict converts nothing (it only drops dora_scale): PEFT `transformer.` keys or nothing. */
function diffusersSd3(tensors: readonly WrittenTensor[]): string[] {
  return diffusersPeftProblems(tensors, 'sd3', 'SD3LoraLoaderMixin converts no kohya or native names');
}

const WAN_MUSUBI_MODULES = ['self_attn_q', 'self_attn_k', 'self_attn_v', 'self_attn_o', 'cross_attn_q', 'cross_attn_k', 'cross_attn_v', 'cross_attn_o', 'ffn_0', 'ffn_2'];

/**
 * WanLoraLoaderMixin: any `diffusion_model.` key → _convert_non_diffusers_wan_lora_to_diffusers, else any `lora_unet_`
 * key → _convert_musubi_wan_lora_to_diffusers, else PEFT as it is. The musubi converter pops, for EVERY block index
 * below the number of distinct blocks, all ten linears (+ k_img / v_img for image-to-video) with down, up and alpha, and
 * refuses any key left over ("state_dict should be empty"); the result is `transformer.` + diffusers names.
 */
function diffusersWan(tensors: readonly WrittenTensor[]): string[] {
  const names = tensors.map((t) => t.name);
  if (names.some((n) => n.startsWith('diffusion_model.'))) return ['diffusion_model.* Wan files: _convert_non_diffusers_wan_lora_to_diffusers is not encoded here'];
  if (!names.some((n) => n.startsWith('lora_unet_'))) return diffusersPeftProblems(tensors, 'wan', 'WanLoraLoaderMixin');
  const { modules, problems } = kohyaModulesWithAlpha(tensors, '_convert_musubi_wan_lora_to_diffusers');
  const blockOf = (m: string) => /^lora_unet_blocks_(\d+)_(.+)$/.exec(m);
  const blocks = new Set([...modules.keys()].map((m) => blockOf(m)?.[1]).filter((b) => b !== undefined));
  const i2v = [...modules.keys()].some((m) => m.endsWith('_k_img')) && [...modules.keys()].some((m) => m.endsWith('_v_img'));
  const expected = [...WAN_MUSUBI_MODULES, ...(i2v ? ['cross_attn_k_img', 'cross_attn_v_img'] : [])];
  const popped = new Set<string>();
  for (let i = 0; i < blocks.size; i++) {
    for (const leaf of expected) {
      const module = `lora_unet_blocks_${i}_${leaf}`;
      if (!modules.has(module)) problems.push(`${module}: missing (the musubi converter pops every linear of blocks 0–${blocks.size - 1}: KeyError)`);
      popped.add(module);
    }
  }
  for (const [module, parts] of modules) {
    if (!popped.has(module)) {
      problems.push(`${module}: left over after the musubi converter (ValueError "state_dict should be empty")`);
      continue;
    }
    problems.push(...factorProblems(module, parts, [...DIT_TARGETS.wan.native].find(([p]) => module === `lora_unet_${flat(p)}`)?.[1], 'optional'));
  }
  return problems;
}

/** The n-grams _convert_non_diffusers_qwen_lora_to_diffusers keeps joined when it turns a flattened block path back into dots. */
const QWEN_PROTECTED = [['add', 'q', 'proj'], ['add', 'k', 'proj'], ['add', 'v', 'proj'], ['to', 'add', 'out'], ['to', 'q'], ['to', 'k'], ['to', 'v'], ['to', 'out'], ['add', 'q'], ['add', 'k'], ['add', 'v'], ['txt', 'mlp'], ['img', 'mlp'], ['txt', 'mod'], ['img', 'mod']];

/** convert_key of the Qwen converter: it assumes every lora_unet_ module is under transformer_blocks_ (others come out mangled). */
function qwenDottedPath(flattened: string): string {
  const parts = flattened.slice('transformer_blocks_'.length).split('_');
  const merged: string[] = [];
  for (let i = 0; i < parts.length;) {
    const gram = QWEN_PROTECTED.find((g) => g.every((w, j) => parts[i + j] === w));
    merged.push(gram ? gram.join('_') : parts[i]);
    i += gram ? gram.length : 1;
  }
  return `transformer_blocks.${merged.join('.')}`;
}

/**
 * QwenImageLoraLoaderMixin: a file with any `.alpha`, `lora_unet_`, `diffusion_model.` or "default." key goes through
 * _convert_non_diffusers_qwen_lora_to_diffusers (prefixes stripped, flattened block paths re-dotted; with lora_down keys
 * each module's up and alpha are popped, any other key left is a ValueError; with lora_A keys alphas are dropped), then
 * `transformer.` is put in front of every key; other files are loaded as they are.
 */
function diffusersQwen(tensors: readonly WrittenTensor[]): string[] {
  const names = tensors.map((t) => t.name);
  const converted = names.some((n) => n.endsWith('.alpha') || n.startsWith('lora_unet_') || n.startsWith('diffusion_model.') || n.includes('default.'));
  if (!converted) return diffusersPeftProblems(tensors, 'qwen-image', 'QwenImageLoraLoaderMixin');
  const renamed = tensors.map((t) => {
    let name = t.name.startsWith('diffusion_model.') ? t.name.slice('diffusion_model.'.length) : t.name;
    if (names.some((n) => n.startsWith('lora_unet_')) && name.startsWith('lora_unet_')) {
      const m = /^lora_unet_([^.]+)(\..+)$/.exec(name);
      name = m ? `${qwenDottedPath(m[1])}${m[2]}` : name;
    }
    return { name, shape: t.shape };
  });
  if (renamed.some((t) => t.name.endsWith('.lora_down.weight'))) {
    const { modules, problems } = kohyaModulesWithAlpha(renamed, '_convert_non_diffusers_qwen_lora_to_diffusers');
    for (const [module, parts] of modules) {
      const target = DIT_TARGETS['qwen-image'].diffusers.get(module);
      if (!target) problems.push(`${module}: not a Qwen-Image module after the converter's renaming (from ${[...parts.values()][0].name})`);
      problems.push(...factorProblems(module, parts, target, 'optional'));
    }
    return problems;
  }
  const kept = renamed.filter((t) => !t.name.endsWith('.alpha')).map((t) => ({ name: `transformer.${t.name}`, shape: t.shape }));
  return diffusersPeftProblems(kept, 'qwen-image', 'QwenImageLoraLoaderMixin after the converter');
}

/**
 * HunyuanVideoLoraLoaderMixin: a file with any `img_attn_qkv` key goes through _convert_hunyuan_video_lora_to_diffusers,
 * which strips `transformer.` / `diffusion_model.` and renames Tencent's paths to diffusers', reading lora_A / lora_B
 * factors only (a `lora_unet_` name keeps its prefix and loads nothing); other files are PEFT as they are.
 */
function diffusersHunyuanVideo(tensors: readonly WrittenTensor[]): string[] {
  if (!tensors.some((t) => t.name.includes('img_attn_qkv'))) return diffusersPeftProblems(tensors, 'hunyuan-video', 'HunyuanVideoLoraLoaderMixin');
  const { modules, problems } = modulesOf(tensors, SUFFIX.peft, 'diffusers (_convert_hunyuan_video_lora_to_diffusers reads lora_A / lora_B only)');
  for (const [module, parts] of modules) {
    const target = DIT_TARGETS['hunyuan-video'].native.get(module.replace(/^(transformer|diffusion_model)\./, ''));
    if (!target) problems.push(`${module}: not a HunyuanVideo module (Tencent's names) the converter renames`);
    problems.push(...factorProblems(module, parts, target, 'absent'));
  }
  return problems;
}

/**
 * LTXVideoLoraLoaderMixin: any `diffusion_model.` key → _convert_non_diffusers_ltxv_lora_to_diffusers, which needs EVERY
 * key so prefixed (else ValueError "Invalid LoRA state dict for LTX-Video") and renames the prefix to `transformer.`;
 * other files are PEFT as they are (a kohya `lora_unet_` file loads nothing).
 */
function diffusersLtx(tensors: readonly WrittenTensor[]): string[] {
  if (!tensors.some((t) => t.name.startsWith('diffusion_model.'))) return diffusersPeftProblems(tensors, 'ltx-video', 'LTXVideoLoraLoaderMixin');
  const strays = tensors.filter((t) => !t.name.startsWith('diffusion_model.'));
  if (strays.length) return strays.map((t) => `${t.name}: beside diffusion_model.* keys (ValueError "Invalid LoRA state dict for LTX-Video")`);
  return diffusersPeftProblems(tensors.map((t) => ({ name: `transformer.${t.name.slice('diffusion_model.'.length)}`, shape: t.shape })), 'ltx-video', 'LTXVideoLoraLoaderMixin');
}

/** _convert_non_diffusers_ltx2_lora_to_diffusers' renames, as string replacements over the key, in its order. */
const LTX2_CONVERTER_RENAMES: readonly [string, string][] = [
  ['patchify_proj', 'proj_in'], ['audio_patchify_proj', 'audio_proj_in'],
  ['av_ca_video_scale_shift_adaln_single', 'av_cross_attn_video_scale_shift'], ['av_ca_a2v_gate_adaln_single', 'av_cross_attn_video_a2v_gate'],
  ['av_ca_audio_scale_shift_adaln_single', 'av_cross_attn_audio_scale_shift'], ['av_ca_v2a_gate_adaln_single', 'av_cross_attn_audio_v2a_gate'],
  ['scale_shift_table_a2v_ca_video', 'video_a2v_cross_attn_scale_shift_table'], ['scale_shift_table_a2v_ca_audio', 'audio_a2v_cross_attn_scale_shift_table'],
  ['q_norm', 'norm_q'], ['k_norm', 'norm_k'],
];

/**
 * LTX2LoraLoaderMixin: any `diffusion_model.` key → _convert_non_diffusers_ltx2_lora_to_diffusers, which KEEPS ONLY the
 * `diffusion_model.` keys (any other is dropped without a word), strips the prefix, applies its renames, turns a leading
 * `adaln_single.` / `audio_adaln_single.` into `time_embed.` / `audio_time_embed.` and puts `transformer.` before each;
 * other files are PEFT as they are. Then load_lora_weights refuses a key without "lora" (an `.alpha`) and loads
 * `transformer.` + a module of the diffusers model.
 */
function diffusersLtx2(tensors: readonly WrittenTensor[]): string[] {
  if (!tensors.some((t) => t.name.startsWith('diffusion_model.'))) return diffusersPeftProblems(tensors, 'ltx-2', 'LTX2LoraLoaderMixin');
  const dropped = tensors.filter((t) => !t.name.startsWith('diffusion_model.')).map((t) => `${t.name}: dropped by the converter (it keeps diffusion_model.* keys only)`);
  const converted = tensors.filter((t) => t.name.startsWith('diffusion_model.')).map((t) => {
    let key = t.name.slice('diffusion_model.'.length);
    for (const [from, to] of LTX2_CONVERTER_RENAMES) key = key.replaceAll(from, to);
    key = key.replace(/^adaln_single\./, 'time_embed.').replace(/^audio_adaln_single\./, 'audio_time_embed.');
    return { name: `transformer.${key}`, shape: t.shape };
  });
  return [...dropped, ...diffusersPeftProblems(converted, 'ltx-2', 'LTX2LoraLoaderMixin after the converter')];
}

/**
 * Lumina2LoraLoaderMixin: any `diffusion_model.` key → _convert_non_diffusers_lumina2_lora_to_diffusers (native NextDiT
 * names with lora_A / lora_B; not encoded here: the merge writes no such file); other files are PEFT as they are.
 */
function diffusersLumina2(tensors: readonly WrittenTensor[]): string[] {
  if (tensors.some((t) => t.name.startsWith('diffusion_model.'))) return ['diffusion_model.* Lumina 2 files: _convert_non_diffusers_lumina2_lora_to_diffusers is not encoded here'];
  return diffusersPeftProblems(tensors, 'lumina2', 'Lumina2LoraLoaderMixin');
}

/** musubi-tuner: `lora_unet_` + the native module path inside the trained blocks, `.` → `_`; lora_down / lora_up / alpha. */
function musubi(tensors: readonly WrittenTensor[], family: 'wan' | 'qwen-image' | 'hunyuan-video'): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.kohya, 'musubi-tuner');
  for (const [module, parts] of modules) {
    const target = [...DIT_TARGETS[family].native].find(([p]) => module === `lora_unet_${flat(p)}`)?.[1];
    if (!target) problems.push(`${module}: musubi-tuner's ${family} network has no module of that name`);
    problems.push(...factorProblems(module, parts, target, 'optional'));
  }
  return problems;
}

/**
 * ComfyUI's HunyuanVideo model is built from Flux's blocks (comfy/ldm/hunyuan_video/model.py @040a3243: img_attn.qkv,
 * img_mlp.0, img_mod.lin, modulation.lin), so its generic `lora_unet_` / `diffusion_model.` keys use those names; the
 * HunyuanVideo branch of model_lora_keys_unet (@17358c8f) adds `transformer.` / `diffusion_model.` + Tencent's names
 * (img_attn_qkv, img_mlp.fc1, img_mod.linear, modulation.linear). Diffusers names are not mapped.
 */
function comfyHunyuanPath(native: string): string {
  return native.replace(/_attn_qkv$/, '_attn.qkv').replace(/_attn_proj$/, '_attn.proj').replace(/mlp\.fc1$/, 'mlp.0').replace(/mlp\.fc2$/, 'mlp.2')
    .replace(/_mod\.linear$/, '_mod.lin').replace(/\.modulation\.linear$/, '.modulation.lin');
}

function comfyHunyuanVideo(tensors: readonly WrittenTensor[]): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.comfy, 'ComfyUI');
  for (const [module, parts] of modules) {
    const target = [...DIT_TARGETS['hunyuan-video'].native].find(([p]) => [`lora_unet_${flat(comfyHunyuanPath(p))}`, `diffusion_model.${comfyHunyuanPath(p)}`, `transformer.${p}`, `diffusion_model.${p}`].includes(module))?.[1];
    if (!target) problems.push(`${module}: no hunyuan-video weight of that name in ComfyUI's key map ("lora key not loaded")`);
    problems.push(...factorProblems(module, parts, target, 'optional'));
  }
  return problems;
}

/** The problems `loader` has with a file of `family` ([] = it loads every tensor). */
export function loaderProblems(loader: Loader, family: RuleFamily, tensors: readonly WrittenTensor[]): string[] {
  if (!LOADERS_OF[family].includes(loader)) throw new Error(`no ${loader} rule for ${family} yet`);
  if (family === 'flux' || family === 'sd1' || family === 'sdxl') return sdAndFluxProblems(loader, family, tensors);
  if (loader === 'musubi-tuner') return musubi(tensors, family as 'wan' | 'qwen-image' | 'hunyuan-video');
  if (loader === 'diffusers') {
    const rules: Record<DitFamily, (t: readonly WrittenTensor[]) => string[]> = {
      sd3: diffusersSd3, wan: diffusersWan, 'qwen-image': diffusersQwen, 'hunyuan-video': diffusersHunyuanVideo, 'ltx-video': diffusersLtx, 'ltx-2': diffusersLtx2, lumina2: diffusersLumina2,
    };
    return rules[family as DitFamily](tensors);
  }
  return family === 'hunyuan-video' ? comfyHunyuanVideo(tensors) : comfyDit(tensors, family);
}

/** Flux, SD1.x, SDXL: ComfyUI, Forge, diffusers and kohya sd-scripts. */
function sdAndFluxProblems(loader: Loader, family: 'flux' | 'sd1' | 'sdxl', tensors: readonly WrittenTensor[]): string[] {
  if (family === 'flux') {
    if (loader === 'ComfyUI' || loader === 'Forge') return comfyFlux(tensors, loader);
    return loader === 'diffusers' ? diffusersFlux(tensors) : kohyaFlux(tensors);
  }
  if (loader === 'ComfyUI' || loader === 'Forge') return comfySd(tensors, family, loader);
  return loader === 'diffusers' ? diffusersSd(tensors, family) : kohyaSd(tensors, family);
}
