/**
 * What one tensor name says about its role in an adapter: which naming scheme, which module (still in that
 * scheme's spelling), and which part (down / up / alpha) — or which non-B·A adapter it belongs to.
 */

export type LoraScheme = 'kohya' | 'kohya-dotted' | 'xlabs' | 'peft' | 'diffusers-old' | 'diffusers-attn-processor' | 'mlx';

/** Adapters that are not a plain B·A product (so ZipLoRA cannot merge them), by what names them. */
export type OtherAdapterKind = 'loha' | 'lokr' | 'locon-tucker' | 'dora' | 'lycoris-full' | 'glora' | 'cloneofsimo' | 'peft-non-lora' | 'flux-control' | 'lora-bias';

export type TensorRole =
  | { readonly kind: 'factor'; readonly scheme: LoraScheme; readonly module: string; readonly part: 'down' | 'up' }
  | { readonly kind: 'alpha'; readonly scheme: LoraScheme; readonly module: string }
  | { readonly kind: 'other-adapter'; readonly adapter: OtherAdapterKind; readonly module: string }
  | { readonly kind: 'unrelated' };

export const OTHER_ADAPTER_NAMES: Record<OtherAdapterKind, string> = {
  loha: 'LyCORIS LoHa (hada_* Hadamard-product factors)',
  lokr: 'LyCORIS LoKr (lokr_* Kronecker-product factors)',
  'locon-tucker': 'LyCORIS LoCon with Tucker decomposition (lora_mid)',
  dora: 'DoRA (weight-decomposed LoRA: dora_scale / lora_magnitude_vector)',
  'lycoris-full': 'LyCORIS full weight difference (.diff)',
  glora: 'LyCORIS GLoRA (a1/a2/b1/b2)',
  cloneofsimo: 'cloneofsimo LoRA (indexed keys such as unet:0:up, no module names)',
  'peft-non-lora': 'a PEFT adapter without LoRA A/B pairs (IA³, OFT, BOFT, VeRA, prompt tuning…)',
  'flux-control': 'a Flux Control LoRA (BFL Canny/Depth style: LoRA pairs plus full tensors — lora_B.bias, query/key norm scales, an img_in widened to the control channels)',
  'lora-bias': 'a LoRA with bias terms (lora_B.bias, PEFT lora_bias=True): a bias is no B·A product',
};

/** What a user can do with each adapter the merge refuses (the hint of the refusal, and of `inspect`). */
/** What to do with a file holding these adapters, in one line (each piece of advice once). */
export function adviceFor(adapters: readonly OtherAdapterKind[]): string {
  return [...new Set(adapters.map((a) => OTHER_ADAPTER_ADVICE[a]))].join('; ');
}

const OTHER_ADAPTER_ADVICE: Record<OtherAdapterKind, string> = {
  loha: 'merge LyCORIS files with a LyCORIS-aware tool, or extract a plain LoRA from the model it produces (kohya networks/extract_lora_from_models.py) and merge that',
  lokr: 'merge LyCORIS files with a LyCORIS-aware tool, or extract a plain LoRA from the model it produces (kohya networks/extract_lora_from_models.py) and merge that',
  'locon-tucker': 'retrain without Tucker decomposition (LyCORIS use_tucker off), or extract a plain LoRA from the model it produces and merge that',
  dora: "DoRA's magnitude rescales whole weight columns after the B·A update, which a LoRA cannot carry: load it on its own, or retrain as a plain LoRA (OneTrainer: decompose weights off)",
  'lycoris-full': 'a full weight difference has no low-rank factors; extract a plain LoRA from it (kohya networks/extract_lora_from_models.py) and merge that',
  glora: 'extract a plain LoRA from the model it produces and merge that',
  cloneofsimo: 'its layers are indexed, not named; convert it with its own tools to a named LoRA first',
  'peft-non-lora': 'only LoRA adapters (lora_A / lora_B) can be merged',
  'flux-control': 'it changes the model (wider img_in, set norm weights) rather than adding a B·A update: load it as a Control LoRA beside the merged LoRA (diffusers FluxControlPipeline, ComfyUI LoraLoaderModelOnly) instead of merging it',
  'lora-bias': 'merge LoRAs trained without lora_bias, or load this one on its own',
};

const KOHYA_MODULE = String.raw`(lora_[a-z0-9]+_[^.]+)`;

/** XLabs Flux LoRAs: `double_blocks.0.processor.qkv_lora1.down.weight` (lora1 = image stream, lora2 = text stream). */
const XLABS_FACTOR = /^(double_blocks|single_blocks)\.(\d+)\.processor\.(qkv|proj)_lora([12]?)\.(down|up)\.weight$/;

/**
 * The BFL module an XLabs double-block factor belongs to (as diffusers' and ComfyUI's XLabs converters map it);
 * other XLabs processors keep their own name, so they pair only with XLabs files.
 */
function xlabsModule(blocks: string, index: string, projection: string, stream: string): string {
  if (blocks === 'double_blocks' && stream) return `${blocks}.${index}.${stream === '1' ? 'img' : 'txt'}_attn.${projection}`;
  return `${blocks}.${index}.processor.${projection}_lora${stream}`;
}

/** Ordered: the first pattern that matches decides. */
const RULES: ReadonlyArray<[RegExp, (m: RegExpExecArray) => TensorRole]> = [
  [new RegExp(`^${KOHYA_MODULE}\\.lora_(down|up)\\.weight$`), (m) => ({ kind: 'factor', scheme: 'kohya', module: m[1], part: m[2] as 'down' | 'up' })],
  [new RegExp(`^${KOHYA_MODULE}\\.alpha$`), (m) => ({ kind: 'alpha', scheme: 'kohya', module: m[1] })],
  // kohya factor names on dotted module paths (Qwen-Image, Wan and other musubi-tuner / ComfyUI-converted files).
  [/^(.+)\.lora_(down|up)\.weight$/, (m) => ({ kind: 'factor', scheme: 'kohya-dotted', module: m[1], part: m[2] as 'down' | 'up' })],
  [XLABS_FACTOR, (m) => ({ kind: 'factor', scheme: 'xlabs', module: xlabsModule(m[1], m[2], m[3], m[4]), part: m[5] as 'down' | 'up' })],
  [/^(.+)\.lora_mid\.weight$/, (m) => ({ kind: 'other-adapter', adapter: 'locon-tucker', module: m[1] })],
  [/^(.+)\.hada_(w1_a|w1_b|w2_a|w2_b|t1|t2)$/, (m) => ({ kind: 'other-adapter', adapter: 'loha', module: m[1] })],
  [/^(.+)\.lokr_(w1|w1_a|w1_b|w2|w2_a|w2_b|t1|t2)$/, (m) => ({ kind: 'other-adapter', adapter: 'lokr', module: m[1] })],
  [/^(.+)\.(dora_scale|lora_magnitude_vector(\.[^.]+)?(\.weight)?)$/, (m) => ({ kind: 'other-adapter', adapter: 'dora', module: m[1] })],
  [/^(lora_[a-z0-9]+_[^.]+)\.(diff|diff_b)$/, (m) => ({ kind: 'other-adapter', adapter: 'lycoris-full', module: m[1] })],
  [/^(lora_[a-z0-9]+_[^.]+)\.(a1|a2|b1|b2)\.weight$/, (m) => ({ kind: 'other-adapter', adapter: 'glora', module: m[1] })],
  [/^(unet|text_encoder):\d+:(up|down)$/, (m) => ({ kind: 'other-adapter', adapter: 'cloneofsimo', module: m[0] })],
  // Flux Control LoRAs (diffusers _convert_bfl_flux_control_lora_to_diffusers, ComfyUI convert_lora_bfl_control).
  [/^(.+)\.(query_norm|key_norm)\.scale$/, (m) => ({ kind: 'other-adapter', adapter: 'flux-control', module: m[1] })],
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

export function roleOfTensor(name: string): TensorRole {
  for (const [pattern, role] of RULES) {
    const m = pattern.exec(name);
    if (m) return role(m);
  }
  return { kind: 'unrelated' };
}
