/** For a file with no LoRA layers: what it looks like instead, from its tensor names and shapes. */
import { TensorInfo } from '../safetensors/header';

interface Look {
  readonly test: (names: readonly string[], tensors: readonly TensorInfo[]) => boolean;
  readonly looksLike: string;
}

const some = (pattern: RegExp) => (names: readonly string[]) => names.some((n) => pattern.test(n));

const LOOKS: readonly Look[] = [
  { test: some(/^(emb_params|string_to_param\.|string_to_token)/), looksLike: 'a textual-inversion embedding (A1111/kohya)' },
  { test: (names) => names.length > 0 && names.every((n) => n === 'clip_l' || n === 'clip_g'), looksLike: 'an SDXL textual-inversion embedding (clip_l/clip_g)' },
  { test: (names) => names.length > 0 && names.every((n) => /^<[^>]+>$/.test(n)), looksLike: 'token embeddings (cloneofsimo <s1>-style)' },
  { test: some(/^model\.diffusion_model\./), looksLike: 'a full Stable Diffusion checkpoint (LDM layout: model.diffusion_model.*)' },
  { test: some(/^conditioner\.embedders\./), looksLike: 'SDXL checkpoint weights (conditioner.embedders.*)' },
  { test: some(/^first_stage_model\.|^(encoder|decoder)\.(down|up|mid)/), looksLike: 'a VAE' },
  { test: some(/^(double_blocks|single_blocks)\.\d+\..*\.weight$/), looksLike: 'a full Flux transformer checkpoint' },
  { test: some(/^(down_blocks|up_blocks|mid_block)\..*\.weight$/), looksLike: 'a full diffusers UNet checkpoint' },
  { test: some(/^(transformer_blocks|single_transformer_blocks)\..*\.weight$/), looksLike: 'a full diffusers transformer checkpoint' },
  { test: some(/^text_model\.encoder\.layers\./), looksLike: 'a CLIP text encoder checkpoint' },
  { test: some(/(^|\.)layers\.\d+\.(self_attn|mlp|attention)\./), looksLike: 'language-model weights (a full checkpoint, not an adapter)' },
];

/** One phrase ("a full Stable Diffusion checkpoint …") describing a file that holds no LoRA layer. */
export function describeNonLora(tensors: readonly TensorInfo[]): string {
  if (tensors.length === 0) return 'an empty file (no tensors)';
  const names = tensors.map((t) => t.name);
  const look = LOOKS.find((l) => l.test(names, tensors));
  if (look) return look.looksLike;
  const examples = names.slice(0, 3).map((n) => `"${n}"`).join(', ');
  return `a plain tensor file: ${tensors.length} tensor${tensors.length === 1 ? '' : 's'}, none named like LoRA factors (e.g. ${examples})`;
}
