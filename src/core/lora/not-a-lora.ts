/** For a file with no LoRA layers: what it looks like instead, from its tensor names (generic looks and the families'). */
import { FAMILY_SPECS, FileLook } from './families';
import { TensorInfo } from '../safetensors/header';

const some = (pattern: RegExp) => (names: readonly string[]) => names.some((n) => pattern.test(n));

const TOKEN_NAME = /^<[^>]+>$/;

/** Looks no family owns; `order` interleaves them with the specs' fileLooks. */
const GENERIC_LOOKS: readonly FileLook[] = [
  { order: 1, test: some(/^(emb_params|string_to_param\.|string_to_token)/), looksLike: 'a textual-inversion embedding (A1111/kohya)' },
  { order: 3, test: (names) => names.length > 0 && names.every((n) => TOKEN_NAME.test(n)), looksLike: 'token embeddings (cloneofsimo <s1>-style)' },
  { order: 6, test: some(/^first_stage_model\.|^(encoder|decoder)\.(down|up|mid)/), looksLike: 'a VAE' },
  { order: 8, test: some(/^(down_blocks|up_blocks|mid_block)\..*\.weight$/), looksLike: 'a full diffusers UNet checkpoint' },
  { order: 9, test: some(/^(transformer_blocks|single_transformer_blocks)\..*\.weight$/), looksLike: 'a full diffusers transformer checkpoint' },
  { order: 10, test: some(/^text_model\.encoder\.layers\./), looksLike: 'a CLIP text encoder checkpoint' },
  { order: 11, test: some(/(^|\.)layers\.\d+\.(self_attn|mlp|attention)\./), looksLike: 'language-model weights (a full checkpoint, not an adapter)' },
];

const LOOKS = [...GENERIC_LOOKS, ...FAMILY_SPECS.flatMap((spec) => spec.fileLooks ?? [])].sort((a, b) => a.order - b.order);

/** One phrase ("a full … checkpoint", "a VAE") describing a file that holds no LoRA layer. */
export function describeNonLora(tensors: readonly TensorInfo[]): string {
  if (tensors.length === 0) return 'an empty file (no tensors)';
  const names = tensors.map((t) => t.name);
  const look = LOOKS.find((l) => l.test(names));
  if (look) return look.looksLike;
  const examples = names.slice(0, 3).map((n) => `"${n}"`).join(', ');
  return `a plain tensor file: ${tensors.length} tensor${tensors.length === 1 ? '' : 's'}, none named like LoRA factors (e.g. ${examples})`;
}
