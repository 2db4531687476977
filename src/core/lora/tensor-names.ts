/**
 * What one tensor name says about its role in an adapter: which naming scheme, which module (still in that
 * scheme's spelling), and which part (down / up / alpha) — or which non-B·A adapter it belongs to. Namings and
 * adapters that only one family's files use come from its spec (factorNamings, adapters).
 */
import { anyPattern } from './any-pattern';
import { FAMILY_SPECS } from './families';

/** Tensor namings any family's files may use. */
export type SharedScheme = 'kohya' | 'kohya-dotted' | 'peft' | 'diffusers-old' | 'diffusers-attn-processor' | 'mlx';
/** A shared naming, or a family's own (its spec's factorNamings scheme). */
export type LoraScheme = SharedScheme | (string & {});

/** Adapters of any family that are not a plain B·A product (so ZipLoRA cannot merge them), by what names them. */
type SharedAdapterKind = 'loha' | 'lokr' | 'locon-tucker' | 'dora' | 'lycoris-full' | 'glora' | 'cloneofsimo' | 'peft-non-lora' | 'lora-bias';
/** A shared adapter kind, or a family's own (its spec's adapters). */
export type OtherAdapterKind = SharedAdapterKind | (string & {});

const FAMILY_NAMINGS = FAMILY_SPECS.flatMap((spec) => spec.factorNamings ?? []);
const FAMILY_ADAPTERS = FAMILY_SPECS.flatMap((spec) => spec.adapters ?? []);

export type TensorRole =
  | { readonly kind: 'factor'; readonly scheme: LoraScheme; readonly module: string; readonly part: 'down' | 'up' }
  | { readonly kind: 'alpha'; readonly scheme: LoraScheme; readonly module: string }
  | { readonly kind: 'other-adapter'; readonly adapter: OtherAdapterKind; readonly module: string }
  | { readonly kind: 'unrelated' };

const SHARED_ADAPTER_NAMES: Record<SharedAdapterKind, string> = {
  loha: 'LyCORIS LoHa (hada_* Hadamard-product factors)',
  lokr: 'LyCORIS LoKr (lokr_* Kronecker-product factors)',
  'locon-tucker': 'LyCORIS LoCon with Tucker decomposition (lora_mid)',
  dora: 'DoRA (weight-decomposed LoRA: dora_scale / lora_magnitude_vector)',
  'lycoris-full': 'LyCORIS full weight difference (.diff)',
  glora: 'LyCORIS GLoRA (a1/a2/b1/b2)',
  cloneofsimo: 'cloneofsimo LoRA (indexed keys such as unet:0:up, no module names)',
  'peft-non-lora': 'a PEFT adapter without LoRA A/B pairs (IA³, OFT, BOFT, VeRA, prompt tuning…)',
  'lora-bias': 'a LoRA with bias terms (lora_B.bias, PEFT lora_bias=True): a bias is no B·A product',
};

/** An adapter kind in words. */
export function adapterName(kind: OtherAdapterKind): string {
  return SHARED_ADAPTER_NAMES[kind as SharedAdapterKind] ?? FAMILY_ADAPTERS.find((a) => a.kind === kind)?.name ?? kind;
}

/** Whether an adapter's `lora_B.bias` tensors are part of it (not a second kind of adapter). */
export function includesBiases(kind: OtherAdapterKind): boolean {
  return FAMILY_ADAPTERS.some((a) => a.kind === kind && a.includesBiases === true);
}

/** A file's tensor naming in words: a shared scheme's, or its family's. */
export function schemeName(scheme: LoraScheme): string {
  return SHARED_SCHEME_NAMES[scheme as SharedScheme] ?? FAMILY_NAMINGS.find((n) => n.scheme === scheme)?.name ?? scheme;
}

const SHARED_SCHEME_NAMES: Record<SharedScheme, string> = {
  kohya: 'kohya (lora_down / lora_up / alpha)',
  peft: 'diffusers/PEFT (lora_A / lora_B)',
  'kohya-dotted': 'dotted module names with lora_down / lora_up / alpha',
  'diffusers-old': 'old diffusers (lora.down / lora.up)',
  'diffusers-attn-processor': 'old diffusers attention processors (processor.to_q_lora.down)',
  mlx: 'MLX (lora_a in×r / lora_b r×out)',
};

/** What to do with a file holding these adapters, in one line (each piece of advice once): the hint of the refusal, and of `inspect`. */
export function adviceFor(adapters: readonly OtherAdapterKind[]): string {
  return [...new Set(adapters.map((a) => SHARED_ADAPTER_ADVICE[a as SharedAdapterKind] ?? FAMILY_ADAPTERS.find((f) => f.kind === a)?.advice ?? ''))].join('; ');
}

const SHARED_ADAPTER_ADVICE: Record<SharedAdapterKind, string> = {
  loha: 'merge LyCORIS files with a LyCORIS-aware tool, or extract a plain LoRA from the model it produces (kohya networks/extract_lora_from_models.py) and merge that',
  lokr: 'merge LyCORIS files with a LyCORIS-aware tool, or extract a plain LoRA from the model it produces (kohya networks/extract_lora_from_models.py) and merge that',
  'locon-tucker': 'retrain without Tucker decomposition (LyCORIS use_tucker off), or extract a plain LoRA from the model it produces and merge that',
  dora: "DoRA's magnitude rescales whole weight columns after the B·A update, which a LoRA cannot carry: load it on its own, or retrain as a plain LoRA (OneTrainer: decompose weights off)",
  'lycoris-full': 'a full weight difference has no low-rank factors; extract a plain LoRA from it (kohya networks/extract_lora_from_models.py) and merge that',
  glora: 'extract a plain LoRA from the model it produces and merge that',
  cloneofsimo: 'its layers are indexed, not named; convert it with its own tools to a named LoRA first',
  'peft-non-lora': 'only LoRA adapters (lora_A / lora_B) can be merged',
  'lora-bias': 'merge LoRAs trained without lora_bias, or load this one on its own',
};

const KOHYA_MODULE = String.raw`(lora_[a-z0-9]+_[^.]+)`;

/** Ordered: the first pattern that matches decides. */
const RULES: ReadonlyArray<[RegExp, (m: RegExpExecArray) => TensorRole]> = [
  [new RegExp(`^${KOHYA_MODULE}\\.lora_(down|up)\\.weight$`), (m) => ({ kind: 'factor', scheme: 'kohya', module: m[1], part: m[2] as 'down' | 'up' })],
  [new RegExp(`^${KOHYA_MODULE}\\.alpha$`), (m) => ({ kind: 'alpha', scheme: 'kohya', module: m[1] })],
  // kohya factor names on dotted module paths (musubi-tuner / ComfyUI-converted files of several families).
  [/^(.+)\.lora_(down|up)\.weight$/, (m) => ({ kind: 'factor', scheme: 'kohya-dotted', module: m[1], part: m[2] as 'down' | 'up' })],
  ...FAMILY_NAMINGS.map((naming): [RegExp, (m: RegExpExecArray) => TensorRole] => [naming.pattern, (m) => ({ kind: 'factor', scheme: naming.scheme, ...naming.factor(m) })]),
  [/^(.+)\.lora_mid\.weight$/, (m) => ({ kind: 'other-adapter', adapter: 'locon-tucker', module: m[1] })],
  [/^(.+)\.hada_(w1_a|w1_b|w2_a|w2_b|t1|t2)$/, (m) => ({ kind: 'other-adapter', adapter: 'loha', module: m[1] })],
  [/^(.+)\.lokr_(w1|w1_a|w1_b|w2|w2_a|w2_b|t1|t2)$/, (m) => ({ kind: 'other-adapter', adapter: 'lokr', module: m[1] })],
  [/^(.+)\.(dora_scale|lora_magnitude_vector(\.[^.]+)?(\.weight)?)$/, (m) => ({ kind: 'other-adapter', adapter: 'dora', module: m[1] })],
  [/^(lora_[a-z0-9]+_[^.]+)\.(diff|diff_b)$/, (m) => ({ kind: 'other-adapter', adapter: 'lycoris-full', module: m[1] })],
  [/^(lora_[a-z0-9]+_[^.]+)\.(a1|a2|b1|b2)\.weight$/, (m) => ({ kind: 'other-adapter', adapter: 'glora', module: m[1] })],
  [/^(unet|text_encoder):\d+:(up|down)$/, (m) => ({ kind: 'other-adapter', adapter: 'cloneofsimo', module: m[0] })],
  ...FAMILY_ADAPTERS.map((adapter): [RegExp, (m: RegExpExecArray) => TensorRole] => [adapter.pattern, (m) => ({ kind: 'other-adapter', adapter: adapter.kind, module: m[1] })]),
  [/^(.+)\.lora_B\.bias$/, (m) => ({ kind: 'other-adapter', adapter: 'lora-bias', module: m[1] })],
  [/^(.+)\.(ia3_l|oft_r|oft_s|boft_R|boft_s|vera_lambda_b|vera_lambda_d|hra_u|ln_tuning_layers)(\.[^.]+)?(\.weight)?$/, (m) => ({ kind: 'other-adapter', adapter: 'peft-non-lora', module: m[1] })],
  [/^(prompt_embeddings|prefix_embeddings|prompt_encoder\..+)$/, (m) => ({ kind: 'other-adapter', adapter: 'peft-non-lora', module: m[1] })],
  // PEFT saves `lora_A.weight`; an unmerged multi-adapter state dict has `lora_A.<adapter>.weight`.
  [/^(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/, (m) => ({ kind: 'factor', scheme: 'peft', module: m[1], part: m[2] === 'A' ? 'down' : 'up' })],
  [/^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/, (m) => ({
    kind: 'factor', scheme: 'diffusers-attn-processor', module: `${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}`, part: m[3] as 'down' | 'up',
  })],
  [/^(.+)\.(?:lora|lora_linear_layer)\.(down|up)\.weight$/, (m) => ({ kind: 'factor', scheme: 'diffusers-old', module: m[1], part: m[2] as 'down' | 'up' })],
  [/^(.+)\.lora_([ab])$/, (m) => ({ kind: 'factor', scheme: 'mlx', module: m[1], part: m[2] === 'a' ? 'down' : 'up' })],
  // diffusers files converted from kohya sometimes keep a per-module alpha.
  [/^(.+)\.alpha$/, (m) => ({ kind: 'alpha', scheme: 'peft', module: m[1] })],
];

/** The rules' patterns in order (the tests check the combined prefilter against each in turn). */
export const ROLE_PATTERNS: readonly RegExp[] = RULES.map(([pattern]) => pattern);

/** All the rules' patterns at once: a large checkpoint's names, matching none, cost one test each. */
const ANY_RULE = anyPattern(ROLE_PATTERNS);

/** One answer for every unrelated name (frozen, so shared safely): most names of a large checkpoint get it. */
const UNRELATED: TensorRole = Object.freeze({ kind: 'unrelated' });

export function roleOfTensor(name: string): TensorRole {
  const found = ANY_RULE.exec(name);
  return found ? RULES[found.index][1](found.match) : UNRELATED;
}
