/**
 * Canonical module names and the mapping to and from each naming scheme.
 *
 * The canonical name of a layer is its diffusers-style dotted module path with the model component in front:
 * `unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`, `text_encoder.text_model.encoder.layers.0.mlp.fc1`,
 * `text_encoder_2.…`, `transformer.single_transformer_blocks.0.attn.to_k`; for language models (no component)
 * the path inside the model, e.g. `model.layers.36.self_attn.q_proj`. UNet paths are always in diffusers
 * layout, so a kohya SDXL file (LDM `input_blocks_4_1_…`) and a diffusers SDXL file name a layer the same way.
 */
import { BaseModelFamily, DIFFUSERS_NAMED_FAMILIES } from './families';
import { LayerShape, nativePathOf } from './transformer-names';
import { diffusersToLdmUnet, isLdmUnetPath, ldmToDiffusersUnet, UnetLayout } from './unet-blocks';

export type { BaseModelFamily } from './families';

/** Module components of diffusion pipelines, as diffusers prefixes them. */
export const COMPONENTS = ['unet', 'text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer'] as const;
export type Component = (typeof COMPONENTS)[number];

/**
 * Identifiers that contain underscores, so that kohya's flattened names (every `.` turned into `_`) can be
 * split back into modules. Longest match wins (`single_transformer_blocks` before `transformer_blocks`).
 */
const COMPOUND_IDENTIFIERS = [
  'down_blocks', 'up_blocks', 'mid_block', 'input_blocks', 'output_blocks', 'middle_block',
  'transformer_blocks', 'single_transformer_blocks', 'double_blocks', 'single_blocks',
  'proj_in', 'proj_out', 'proj_mlp', 'proj_attn', 'to_q', 'to_k', 'to_v', 'to_out', 'to_add_out',
  'add_q_proj', 'add_k_proj', 'add_v_proj', 'ff_context', 'norm1_context', 'norm_out', 'norm_added_q', 'norm_added_k',
  'time_emb_proj', 'conv_shortcut', 'conv_in', 'conv_out', 'time_embedding', 'add_embedding', 'linear_1', 'linear_2',
  'in_layers', 'out_layers', 'emb_layers', 'skip_connection', 'time_embed', 'label_emb',
  'text_model', 'self_attn', 'q_proj', 'k_proj', 'v_proj', 'out_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj',
  'final_layer_norm', 'token_embedding', 'position_embedding', 'layer_norm1', 'layer_norm2',
  'img_attn', 'txt_attn', 'img_mlp', 'txt_mlp', 'img_mod', 'txt_mod', 'final_layer', 'adaLN_modulation',
  'x_embedder', 'context_embedder', 'time_text_embed', 'timestep_embedder', 'guidance_embedder', 'text_embedder',
  'img_in', 'txt_in', 'time_in', 'vector_in', 'guidance_in', 'in_layer', 'out_layer',
  // SD3, Wan, HunyuanVideo, Qwen-Image, NextDiT (Lumina 2 / Z-Image), LTX-Video and T5 text encoders.
  'joint_blocks', 'x_block', 'context_block', 't_embedder', 'y_embedder', 'pos_embed',
  'cross_attn', 'k_img', 'v_img', 'img_emb', 'text_embedding', 'time_projection', 'patch_embedding',
  'condition_embedder', 'time_embedder', 'image_embedder', 'time_proj',
  'txt_norm', 'noise_refiner', 'context_refiner', 'feed_forward', 'cap_embedder', 'caption_projection',
  'adaln_single', 'scale_shift_table', 'wi_0', 'wi_1',
];
const COMPOUNDS_BY_FIRST_TOKEN = new Map<string, string[][]>();
for (const compound of COMPOUND_IDENTIFIERS) {
  const tokens = compound.split('_');
  const list = COMPOUNDS_BY_FIRST_TOKEN.get(tokens[0]) ?? [];
  list.push(tokens);
  list.sort((a, b) => b.length - a.length);
  COMPOUNDS_BY_FIRST_TOKEN.set(tokens[0], list);
}

/** `down_blocks_0_attentions_0_transformer_blocks_0_ff_net_0_proj` → `down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj`. */
export function unflattenModulePath(flat: string): string {
  const tokens = flat.split('_');
  const parts: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const match = (COMPOUNDS_BY_FIRST_TOKEN.get(tokens[i]) ?? []).find((c) => c.every((t, k) => tokens[i + k] === t));
    const length = match?.length ?? 1;
    parts.push(tokens.slice(i, i + length).join('_'));
    i += length;
  }
  return parts.join('.');
}

/**
 * The key two layers are paired by: the canonical name with every `.` as `_`. Canonical names from different
 * schemes already agree; this also pairs a kohya name whose compound identifiers the table above does not know.
 * A diffusers-named transformer layer that is a renamed native module of its family (Flux BFL, SD3 MMDiT, Wan…;
 * transformer-names.ts) is keyed by the native path, so it pairs with kohya / ai-toolkit / musubi-tuner files while
 * keeping its own name (and so its file's naming on output).
 */
export function pairingKey(canonical: string, family: BaseModelFamily, shape?: LayerShape): string {
  const { component, path } = splitComponent(canonical);
  const native = component === 'transformer' ? nativePathOf(family, path, shape) : undefined;
  return (native ? `transformer.${native}` : canonical).replace(/\./g, '_');
}

/**
 * A canonical name as the family's pipeline names it, where kohya's prefixes say otherwise: sd-scripts writes Flux's
 * T5 as `lora_te3_` (early versions `lora_te2_`), diffusers calls it `text_encoder_2` (Flux has no third encoder).
 */
export function canonicalInFamily(canonical: string, family: BaseModelFamily): string {
  return family === 'flux' ? canonical.replace(/^text_encoder_3\./, 'text_encoder_2.') : canonical;
}

const KOHYA_PREFIXES: Record<string, Component> = {
  lora_unet_: 'unet',
  lora_te_: 'text_encoder',
  lora_te1_: 'text_encoder',
  lora_te2_: 'text_encoder_2',
  lora_te3_: 'text_encoder_3',
  lora_transformer_: 'transformer',
};

/**
 * A diffusion transformer's own (native) layout, which kohya / sd-scripts / musubi-tuner write under `lora_unet_`:
 * Flux and HunyuanVideo (`double_blocks_0_img_attn_qkv`), SD3 (`joint_blocks_0_x_block_attn_qkv`), Wan
 * (`blocks_0_self_attn_q`), NextDiT (`layers_0_attention_qkv`).
 */
const NATIVE_DIT_PATH = /^(double_blocks|single_blocks|joint_blocks|img_in|txt_in|time_in|vector_in|guidance_in|final_layer|t_embedder|y_embedder|x_embedder\.proj|cap_embedder|text_embedding|time_projection|patch_embedding|img_emb|head\.head|time_embedding\.\d|blocks\.\d+\.(self_attn|cross_attn|ffn\.\d)|(layers|noise_refiner|context_refiner)\.\d+\.(attention\.(qkv|out)|adaLN_modulation))\b/;

function isNativeDitPath(path: string): boolean {
  return NATIVE_DIT_PATH.test(path);
}

/** diffusers-layout transformer paths that kohya-style trainers (musubi-tuner: Qwen-Image) also write under `lora_unet_`. */
const DIFFUSERS_DIT_PATH = /^(transformer_blocks|single_transformer_blocks|blocks\.\d+\.(attn1|attn2|ffn\.net)|condition_embedder|time_text_embed|proj_out|norm_out|txt_norm)\b/;

/** kohya module name (without `.lora_down.weight`) → canonical name, or undefined for an unknown prefix. */
export function kohyaToCanonical(kohyaModule: string): string | undefined {
  const prefix = Object.keys(KOHYA_PREFIXES).find((p) => kohyaModule.startsWith(p));
  if (!prefix) return undefined;
  const path = unflattenModulePath(kohyaModule.slice(prefix.length));
  const component = KOHYA_PREFIXES[prefix];
  if (component === 'unet' && (isNativeDitPath(path) || DIFFUSERS_DIT_PATH.test(path) || NEXT_DIT_DIFFUSERS_PATH.test(path))) return `transformer.${path}`;
  if (component === 'unet' && isLdmUnetPath(path)) return `unet.${ldmToDiffusersUnet(path)}`;
  return `${component}.${path}`;
}

/** Paths inside a diffusion transformer; `transformer.h.0…` (GPT-2) is a language model, not this component. */
const DIT_PATH = /^(transformer_blocks|single_transformer_blocks|x_embedder|context_embedder|time_text_embed|norm_out|proj_out|pos_embed|txt_norm|caption_projection|adaln_single|scale_shift_table)\b/;

/** NextDiT (Lumina 2 / Z-Image) blocks in diffusers naming: `layers.0.attn.to_q`, `layers.0.attention.to_q`. */
const NEXT_DIT_DIFFUSERS_PATH = /^(layers|noise_refiner|context_refiner)\.\d+\.(attn\.|attention\.(to_|qkv|out)|feed_forward\.(w\d|linear_\d)|adaLN_modulation|norm1\.linear)/;

export function splitComponent(canonical: string): { component: Component | undefined; path: string } {
  const dot = canonical.indexOf('.');
  const head = dot < 0 ? canonical : canonical.slice(0, dot);
  const path = canonical.slice(dot + 1);
  if (!(COMPONENTS as readonly string[]).includes(head)) return { component: undefined, path: canonical };
  if (head === 'transformer' && !DIT_PATH.test(path) && !isNativeDitPath(path) && !DIFFUSERS_DIT_PATH.test(path) && !NEXT_DIT_DIFFUSERS_PATH.test(path)) {
    return { component: undefined, path: canonical };
  }
  return { component: head as Component, path };
}

/**
 * canonical name → kohya module name for a model family: SDXL UNet layers in LDM layout and `lora_te1_`/`lora_te2_`;
 * SD1.x/SD2.x in diffusers layout and `lora_te_`; SD3 `lora_te1_`/`lora_te2_`/`lora_te3_`, Flux `lora_te1_` and its T5
 * as `lora_te3_`; transformer layers in a native layout (Flux BFL, SD3, Wan, HunyuanVideo, NextDiT) and those of
 * Qwen-Image / LTX-Video as `lora_unet_`, other diffusers-layout transformer layers as `lora_transformer_` (OneTrainer's,
 * which ComfyUI reads for Flux and SD3). Language-model layers have no kohya form.
 */
export function canonicalToKohya(canonical: string, family: BaseModelFamily): string {
  const { component, path } = splitComponent(canonical);
  const flat = (p: string) => p.replace(/\./g, '_');
  switch (component) {
    case 'unet': {
      const layout: UnetLayout | undefined = family === 'sdxl' ? 'sdxl' : undefined;
      return `lora_unet_${flat(layout ? diffusersToLdmUnet(path, layout) : path)}`;
    }
    case 'text_encoder':
      // sd-scripts numbers the encoders of the models that have several (SDXL, SD3, Flux); SD1.x/SD2.x have one.
      return `${family === 'sdxl' || family === 'sd3' || family === 'flux' ? 'lora_te1_' : 'lora_te_'}${flat(path)}`;
    case 'text_encoder_2':
      // Flux's second encoder is T5, which sd-scripts (and ComfyUI) name lora_te3_.
      return `${family === 'flux' ? 'lora_te3_' : 'lora_te2_'}${flat(path)}`;
    case 'text_encoder_3':
      return `lora_te3_${flat(path)}`;
    case 'transformer':
      // musubi-tuner writes Qwen-Image / LTX-Video (own names = diffusers names) as lora_unet_, which ComfyUI maps; it has no
      // lora_transformer_ for them, nor for NextDiT modules named alike in both namings (Z-Image's feed_forward.w1).
      return `${isNativeDitPath(path) || NEXT_DIT_DIFFUSERS_PATH.test(path) || DIFFUSERS_NAMED_FAMILIES.includes(family) ? 'lora_unet_' : 'lora_transformer_'}${flat(path)}`;
    default:
      throw new Error(`layer "${canonical}" belongs to a language model, which kohya naming does not cover; use PEFT naming`);
  }
}

/** Where a name without a component belongs, judged from all the file's module paths. */
export function componentOfBarePaths(paths: readonly string[]): Component | undefined {
  if (paths.some((p) => /^(down_blocks|up_blocks|mid_block|conv_in|conv_out|time_embedding\.linear_|add_embedding)/.test(p))) return 'unet';
  if (paths.some((p) => /^(transformer_blocks|single_transformer_blocks|x_embedder|context_embedder|time_text_embed)\./.test(p) || (isNativeDitPath(p) && !/^(layers|noise_refiner|context_refiner)\./.test(p)) || (DIFFUSERS_DIT_PATH.test(p) && /^blocks\./.test(p)))) return 'transformer';
  // NextDiT's `layers.N.feed_forward.w1` is also Meta LLaMA's naming: only its attention names say which it is.
  if (paths.some((p) => /^(layers|noise_refiner|context_refiner)\.\d+\.(attn\.to_|attention\.(to_|qkv|out))/.test(p))) return 'transformer';
  if (paths.every((p) => p.startsWith('text_model.'))) return 'text_encoder';
  return undefined;
}

/**
 * A module name without the wrappers that say nothing about the module: PEFT's `base_model.model.` and the
 * `diffusion_model.` that ai-toolkit and ComfyUI put before a diffusion model's native (e.g. BFL Flux) names.
 */
export function withoutWrapperPrefix(module: string): string {
  return module.replace(/^base_model\.model\./, '').replace(/^diffusion_model\./, '');
}

/**
 * A diffusers/PEFT module name → canonical name. `bareComponent` is where names with no component prefix
 * belong (see componentOfBarePaths): PEFT's `base_model.model.` wrapper and attention-processor files have none.
 */
export function diffusersToCanonical(module: string, bareComponent: Component | undefined): string {
  let path = withoutWrapperPrefix(module);
  path = path.replace(/^unet\.unet\./, 'unet.'); // old diffusers doubled the prefix
  if (splitComponent(path).component) return path;
  return bareComponent ? `${bareComponent}.${path}` : path;
}

/**
 * canonical name → the module name diffusers/PEFT use: as is for pipeline components, under `base_model.model.`
 * for a language model; Flux layers in BFL layout as ai-toolkit writes them (`diffusion_model.double_blocks.…`),
 * the prefix ComfyUI maps onto any diffusion model's own module names.
 */
export function canonicalToDiffusers(canonical: string): string {
  const { component, path } = splitComponent(canonical);
  if (component === 'transformer' && isNativeDitPath(path)) return `diffusion_model.${path}`;
  return component ? canonical : `base_model.model.${canonical}`;
}

export type NamingScheme = 'kohya' | 'diffusers';

/** The tensor names a layer is written under in a scheme (alpha only for kohya: diffusers/PEFT keep scale 1). */
export function layerTensorNames(canonical: string, scheme: NamingScheme, family: BaseModelFamily): { down: string; up: string; alpha?: string } {
  if (scheme === 'kohya') {
    const module = canonicalToKohya(canonical, family);
    return { down: `${module}.lora_down.weight`, up: `${module}.lora_up.weight`, alpha: `${module}.alpha` };
  }
  const module = canonicalToDiffusers(canonical);
  return { down: `${module}.lora_A.weight`, up: `${module}.lora_B.weight` };
}
