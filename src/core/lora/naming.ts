/**
 * Canonical module names and the mapping to and from each naming scheme.
 *
 * The canonical name of a layer is its diffusers-style dotted module path with the model component in front:
 * `unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`, `text_encoder.text_model.encoder.layers.0.mlp.fc1`,
 * `text_encoder_2.…`, `transformer.single_transformer_blocks.0.attn.to_k`; for language models (no component)
 * the path inside the model, e.g. `model.layers.36.self_attn.q_proj`. UNet paths are always in diffusers
 * layout, so a kohya file in the LDM layout (`input_blocks_4_1_…`) and a diffusers file name a layer the same way.
 */
import { anyFamilyPath, BaseModelFamily, FAMILY_SPECS, specOf } from './families';
import { dotsToUnderscores } from './flat-names';
import { LayerShape, nativePathOf } from './transformer-names';
import { diffusersToLdmUnet, isLdmUnetPath, ldmToDiffusersUnet } from './families/unet-blocks';

export type { BaseModelFamily } from './families';

/** Module components of diffusion pipelines, as diffusers prefixes them. */
export const COMPONENTS = ['unet', 'text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer'] as const;
export type Component = (typeof COMPONENTS)[number];

/** Identifiers with underscores that no one family owns: common diffusers module names and the text encoders' (CLIP, T5). */
const SHARED_COMPOUND_IDENTIFIERS = [
  'proj_in', 'proj_out', 'to_q', 'to_k', 'to_v', 'to_out',
  'text_model', 'self_attn', 'q_proj', 'k_proj', 'v_proj', 'out_proj',
  'final_layer_norm', 'token_embedding', 'position_embedding', 'layer_norm1', 'layer_norm2', 'wi_0', 'wi_1',
];

/**
 * Identifiers that contain underscores (the shared ones and every family's), so that kohya's flattened names (every
 * `.` turned into `_`) can be split back into modules. Longest match wins (`single_transformer_blocks` before
 * `transformer_blocks`).
 */
const COMPOUNDS_BY_FIRST_TOKEN = new Map<string, string[][]>();
for (const compound of new Set([...SHARED_COMPOUND_IDENTIFIERS, ...FAMILY_SPECS.flatMap((spec) => spec.compoundIdentifiers ?? [])])) {
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
 * schemes already agree; this also pairs a kohya name whose compound identifiers the specs do not know.
 * A diffusers-named transformer layer that is a renamed native module of its family (the family's naming table;
 * transformer-names.ts) is keyed by the native path, so it pairs with kohya / ai-toolkit / musubi-tuner files while
 * keeping its own name (and so its file's naming on output).
 */
export function pairingKey(canonical: string, family: BaseModelFamily, shape?: LayerShape): string {
  const { component, path } = splitComponent(canonical);
  const native = component === 'transformer' ? nativePathOf(family, path, shape) : undefined;
  return dotsToUnderscores(native ? `transformer.${native}` : canonical);
}

/**
 * A canonical name as the family's pipeline names it, where kohya's prefixes say otherwise (the spec's
 * componentAliases: a T5 that sd-scripts writes as `lora_te3_` and diffusers calls `text_encoder_2`).
 */
export function canonicalInFamily(canonical: string, family: BaseModelFamily): string {
  const aliases = specOf(family)?.componentAliases ?? {};
  const { component } = splitComponent(canonical);
  const alias = component && aliases[component];
  return alias ? `${alias}${canonical.slice(component.length)}` : canonical;
}

const KOHYA_PREFIXES: Record<string, Component> = {
  lora_unet_: 'unet',
  lora_te_: 'text_encoder',
  lora_te1_: 'text_encoder',
  lora_te2_: 'text_encoder_2',
  lora_te3_: 'text_encoder_3',
  lora_transformer_: 'transformer',
};

/** A path in some family's own (native) transformer layout, which kohya-style trainers write under `lora_unet_`. */
const isNativeDitPath = (path: string) => anyFamilyPath('nativePaths', path);

/** A diffusers-layout transformer path that kohya-style trainers write under `lora_unet_` (and that loaders read so). */
const isUnetPrefixedDiffusersPath = (path: string) => anyFamilyPath('unetPrefixedDiffusersPaths', path);

/** A path kohya-style trainers may write under `lora_unet_` that is a diffusion transformer's, not a UNet's. */
const isKohyaUnetTransformerPath = (path: string) => isNativeDitPath(path) || anyFamilyPath('diffusersPaths', path) || isUnetPrefixedDiffusersPath(path);

/** kohya module name (without `.lora_down.weight`) → canonical name, or undefined for an unknown prefix. */
export function kohyaToCanonical(kohyaModule: string): string | undefined {
  const prefix = Object.keys(KOHYA_PREFIXES).find((p) => kohyaModule.startsWith(p));
  if (!prefix) return undefined;
  const path = unflattenModulePath(kohyaModule.slice(prefix.length));
  const component = KOHYA_PREFIXES[prefix];
  if (component === 'unet' && isKohyaUnetTransformerPath(path)) return `transformer.${path}`;
  if (component === 'unet' && isLdmUnetPath(path)) return `unet.${ldmToDiffusersUnet(path)}`;
  return `${component}.${path}`;
}

export function splitComponent(canonical: string): { component: Component | undefined; path: string } {
  const dot = canonical.indexOf('.');
  const head = dot < 0 ? canonical : canonical.slice(0, dot);
  const path = canonical.slice(dot + 1);
  if (!(COMPONENTS as readonly string[]).includes(head)) return { component: undefined, path: canonical };
  // `transformer.h.0…` (GPT-2) is a language model, not this component: only a diffusion transformer's paths are.
  if (head === 'transformer' && !anyFamilyPath('transformerPaths', path) && !isKohyaUnetTransformerPath(path)) {
    return { component: undefined, path: canonical };
  }
  return { component: head as Component, path };
}

/** sd-scripts' text-encoder prefixes where a family's spec says nothing else (one encoder: `lora_te_`). */
const KOHYA_TEXT_ENCODER_PREFIXES = { text_encoder: 'lora_te_', text_encoder_2: 'lora_te2_', text_encoder_3: 'lora_te3_' } as const;

/** The kohya prefix of a transformer path: `lora_unet_` where its loaders read that (native layouts, the spec's choice), else OneTrainer's `lora_transformer_`. */
function kohyaTransformerPrefix(path: string, family: BaseModelFamily): string {
  const underUnet = isNativeDitPath(path) || isUnetPrefixedDiffusersPath(path) || specOf(family)?.kohyaTransformerUnderUnet === true;
  return underUnet ? 'lora_unet_' : 'lora_transformer_';
}

/**
 * canonical name → kohya module name for a model family: the UNet in the layout its spec names (LDM or diffusers),
 * the text encoders with the family's prefixes (sd-scripts numbers the encoders of models that have several),
 * transformer layers under `lora_unet_` or `lora_transformer_` (kohyaTransformerPrefix). Language-model layers have
 * no kohya form.
 */
export function canonicalToKohya(canonical: string, family: BaseModelFamily): string {
  const { component, path } = splitComponent(canonical);
  const spec = specOf(family);
  switch (component) {
    case 'unet': {
      const ldm = spec?.unet?.kohyaLayout === 'ldm' ? spec.unet.upBlocksWithAttention : undefined;
      return `lora_unet_${dotsToUnderscores(ldm ? diffusersToLdmUnet(path, ldm) : path)}`;
    }
    case 'text_encoder':
    case 'text_encoder_2':
    case 'text_encoder_3':
      return `${spec?.kohyaTextEncoderPrefixes?.[component] ?? KOHYA_TEXT_ENCODER_PREFIXES[component]}${dotsToUnderscores(path)}`;
    case 'transformer':
      return `${kohyaTransformerPrefix(path, family)}${dotsToUnderscores(path)}`;
    default:
      throw new Error(`layer "${canonical}" belongs to a language model, which kohya naming does not cover; use PEFT naming`);
  }
}

/** Where a name without a component belongs, judged from all the file's module paths (the specs' bare-path rules; a UNet's first). */
export function componentOfBarePaths(paths: readonly string[]): Component | undefined {
  const rules = FAMILY_SPECS.flatMap((spec) => spec.barePaths ?? []);
  for (const component of ['unet', 'transformer'] as const) {
    if (rules.some((rule) => rule.component === component && paths.some((p) => rule.pattern.test(p)))) return component;
  }
  if (paths.every((p) => p.startsWith('text_model.'))) return 'text_encoder';
  return undefined;
}

/**
 * A module name without the wrappers that say nothing about the module: PEFT's `base_model.model.` and the
 * `diffusion_model.` that ai-toolkit and ComfyUI put before a diffusion model's native names.
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
 * for a language model; transformer layers in a native layout as ai-toolkit writes them (`diffusion_model.double_blocks.…`),
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
