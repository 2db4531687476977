/**
 * A guess at the model a LoRA was trained for, with the evidence for it. Trainer metadata wins when present;
 * otherwise the module names and widths decide: the cross-attention context width (attn2.to_k input: 768 for
 * SD1.x's CLIP-L, 1024 for SD2.x's OpenCLIP-H, 2048 for SDXL's two encoders), a second text encoder, Flux's
 * single-stream blocks, or a language model's layer layout.
 */
import { BaseModelFamily, canonicalInFamily, splitComponent } from './naming';
import { LoraLayer } from './layer';
import { guessTransformerFamily } from './transformer-family';

export interface BaseModelGuess {
  readonly family: BaseModelFamily;
  /** For people: "SDXL", "SD1.x", "LLM: RoBERTa encoder (roberta-base)"… */
  readonly label: string;
  readonly evidence: readonly string[];
}

const LABELS: Record<BaseModelFamily, string> = {
  sd1: 'SD1.x',
  sd2: 'SD2.x',
  sdxl: 'SDXL',
  flux: 'Flux',
  sd3: 'SD3 / SD3.5',
  'qwen-image': 'Qwen-Image',
  wan: 'Wan 2.1 / 2.2',
  'hunyuan-video': 'HunyuanVideo',
  'ltx-video': 'LTX-Video',
  lumina2: 'Lumina 2',
  'z-image': 'Z-Image',
  llm: 'LLM',
  unknown: 'unknown',
};

const METADATA_RULES: ReadonlyArray<[key: string, pattern: RegExp, family: BaseModelFamily]> = [
  ['ss_base_model_version', /sd3/i, 'sd3'],
  ['modelspec.architecture', /stable-diffusion-v3/i, 'sd3'],
  ['ss_base_model_version', /sdxl/i, 'sdxl'],
  ['ss_base_model_version', /flux/i, 'flux'],
  ['ss_base_model_version', /^sd_v2|v2/i, 'sd2'],
  ['ss_base_model_version', /^sd_v1|v1/i, 'sd1'],
  ['modelspec.architecture', /stable-diffusion-xl/i, 'sdxl'],
  ['modelspec.architecture', /flux/i, 'flux'],
  ['modelspec.architecture', /stable-diffusion-v2/i, 'sd2'],
  ['modelspec.architecture', /stable-diffusion-v1/i, 'sd1'],
  ['ss_v2', /^true$/i, 'sd2'],
];

const CROSS_ATTENTION_WIDTHS: Record<number, BaseModelFamily> = { 768: 'sd1', 1024: 'sd2', 2048: 'sdxl' };

const LLM_LAYOUTS: ReadonlyArray<[pattern: RegExp, family: string, names: string]> = [
  [/^roberta\.encoder\.layer\./, 'RoBERTa encoder', 'roberta.encoder.layer.N'],
  [/^bert\.encoder\.layer\./, 'BERT encoder', 'bert.encoder.layer.N'],
  [/^(model\.)?layers\.\d+\.self_attn\./, 'LLaMA-style decoder', 'model.layers.N.self_attn'],
  [/^model\.decoder\.layers\./, 'OPT-style decoder', 'model.decoder.layers.N'],
  [/^transformer\.h\.\d+\./, 'GPT-2-style decoder', 'transformer.h.N'],
  [/^gpt_neox\.layers\./, 'GPT-NeoX decoder', 'gpt_neox.layers.N'],
  [/^(encoder|decoder)\.block\.\d+\.layer\./, 'T5 encoder-decoder', 'encoder.block.N.layer'],
];

function mostCommon(values: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Which encoder slot holds a T5 (layers `encoder.block.N…`), if any. */
function textEncoderT5(layers: readonly LoraLayer[]): 'text_encoder_2' | 'text_encoder_3' | undefined {
  const t5 = layers.map((l) => splitComponent(l.module)).find((c) => c.component?.startsWith('text_encoder') && /^encoder\.block\.\d+\./.test(c.path));
  return t5?.component as 'text_encoder_2' | 'text_encoder_3' | undefined;
}

/** The text encoders a transformer LoRA also trains, in words (CLIP width 768 = CLIP-L, 1280 = CLIP-G; T5). */
function textEncoderEvidence(layers: readonly LoraLayer[], family: BaseModelFamily): string[] {
  const found = new Map<string, string>();
  for (const layer of layers) {
    const { component, path } = splitComponent(canonicalInFamily(layer.module, family));
    if (!component?.startsWith('text_encoder') || found.has(component)) continue;
    if (/^encoder\.block\./.test(path)) found.set(component, `${component}: T5`);
    else if (/self_attn\.q_proj$/.test(path)) found.set(component, `${component}: CLIP ${layer.inFeatures === 768 ? '-L' : layer.inFeatures === 1280 ? '-G' : ''} (width ${layer.inFeatures})`.replace('CLIP -', 'CLIP-'));
  }
  return [...found.values()].sort().map((e) => `text encoder ${e}`);
}

export function guessBaseModel(layers: readonly LoraLayer[], metadata: Readonly<Record<string, string>>, configBaseModel?: string): BaseModelGuess {
  const evidence: string[] = [];
  for (const [key, pattern, family] of METADATA_RULES) {
    const value = metadata[key];
    if (value !== undefined && pattern.test(value)) {
      evidence.push(`metadata ${key} = "${value}"`);
      return { family, label: LABELS[family], evidence };
    }
  }
  const modules = layers.map((l) => l.module);
  const components = new Set(modules.map((m) => splitComponent(m).component ?? 'none'));

  const transformer = layers.flatMap((l) => {
    const { component, path } = splitComponent(l.module);
    return component === 'transformer' ? [{ path, inFeatures: l.inFeatures, outFeatures: l.outFeatures }] : [];
  });
  const dit = guessTransformerFamily(transformer);
  if (dit) return { family: dit.family, label: dit.label, evidence: [...dit.evidence, ...textEncoderEvidence(layers, dit.family)] };
  const crossAttention = mostCommon(layers.filter((l) => /^unet\..*attn2\.to_[kv]$/.test(l.module)).map((l) => l.inFeatures));
  if (crossAttention !== undefined && CROSS_ATTENTION_WIDTHS[crossAttention]) {
    const family = CROSS_ATTENTION_WIDTHS[crossAttention];
    evidence.push(`UNet cross-attention context width ${crossAttention}`);
    if (components.has('text_encoder_2')) evidence.push('a second text encoder');
    return { family, label: LABELS[family], evidence };
  }
  const t5 = textEncoderT5(layers);
  if (t5 === 'text_encoder_2') {
    evidence.push('a T5 text encoder as the second encoder (diffusers text_encoder_2 / early sd-scripts lora_te2_): Flux');
    return { family: 'flux', label: 'Flux (text encoders only)', evidence };
  }
  if (t5 === 'text_encoder_3') {
    evidence.push('a T5 text encoder as the third encoder (text_encoder_3 / lora_te3_)');
    if (components.has('text_encoder_2')) {
      evidence.push('a second CLIP encoder (CLIP-G)');
      return { family: 'sd3', label: 'SD3 / SD3.5 (text encoders only)', evidence };
    }
    return { family: 'unknown', label: 'Flux or SD3 (text encoders only)', evidence };
  }
  if (components.has('text_encoder_2')) {
    evidence.push('a second text encoder (text_encoder_2 / lora_te2_)');
    return { family: 'sdxl', label: LABELS.sdxl, evidence };
  }
  if (modules.some((m) => /^unet\.down_blocks\.0\.attentions\./.test(m))) {
    evidence.push('attention in the first down block (SDXL has none there)');
    return { family: 'sd1', label: 'SD1.x or SD2.x', evidence };
  }
  if (modules.some((m) => /^unet\.down_blocks\.[12]\.attentions\.\d+\.transformer_blocks\.[2-9]\./.test(m))) {
    evidence.push('more than one transformer block per attention (SDXL)');
    return { family: 'sdxl', label: LABELS.sdxl, evidence };
  }
  const textWidth = mostCommon(layers.filter((l) => /^text_encoder\..*self_attn\.q_proj$/.test(l.module)).map((l) => l.inFeatures));
  if (textWidth === 768 && !components.has('unet')) {
    evidence.push('CLIP-L text encoder only (width 768): SD1.x or SDXL');
    return { family: 'unknown', label: 'SD1.x or SDXL (text encoder only)', evidence };
  }
  if (components.has('none')) {
    const bare = modules.filter((m) => !splitComponent(m).component);
    const layout = LLM_LAYOUTS.find(([pattern]) => bare.some((m) => pattern.test(m)));
    const width = mostCommon(layers.filter((l) => l.outFeatures === l.inFeatures).map((l) => l.inFeatures));
    const parts = [layout?.[1] ?? 'transformer'];
    if (layout) evidence.push(`module names like ${layout[2]}`);
    if (width) evidence.push(`hidden size ${width}`);
    if (configBaseModel) {
      evidence.push(`adapter config names "${configBaseModel}"`);
      parts.push(`(${configBaseModel.split('/').pop()})`);
    }
    if (layout || configBaseModel) return { family: 'llm', label: `LLM: ${parts.join(' ')}`, evidence };
  }
  evidence.push('no known module layout or metadata');
  return { family: 'unknown', label: LABELS.unknown, evidence };
}
