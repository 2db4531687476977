/**
 * Lumina 2 and Z-Image (both NextDiT: native `layers.N.attention.qkv` fused, `attention.out`, `feed_forward.w1..w3`,
 * plus `noise_refiner` / `context_refiner` blocks). Lumina 2 in diffusers: `attn.to_q/to_k/to_v` (grouped-query: k and
 * v narrower than q), `attn.to_out.0`, `feed_forward.linear_1..3`, `norm1.linear` = `adaLN_modulation.1`
 * (diffusers' _convert_non_diffusers_lumina2_lora_to_diffusers). Z-Image in diffusers: `attention.to_q/to_k/to_v`
 * (equal thirds), `attention.to_out.0` = `attention.out`, the rest unchanged (ComfyUI's utils.z_image_to_diffusers).
 */
import { BlockNames, TransformerFamilyNames } from './types';

const LUMINA2_BLOCK = {
  renames: {
    'attn.to_out.0': 'attention.out',
    'feed_forward.linear_1': 'feed_forward.w1',
    'feed_forward.linear_2': 'feed_forward.w2',
    'feed_forward.linear_3': 'feed_forward.w3',
    'norm1.linear': 'adaLN_modulation.1',
  },
  fused: { 'attention.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'] },
};
const Z_IMAGE_BLOCK = {
  renames: { 'attention.to_out.0': 'attention.out' },
  fused: { 'attention.qkv': ['attention.to_q', 'attention.to_k', 'attention.to_v'] },
};
const NEXT_DIT_CONTAINERS = ['layers', 'noise_refiner', 'context_refiner'];
const blocksOf = (block: Omit<BlockNames, 'diffusers' | 'native'>): BlockNames[] =>
  NEXT_DIT_CONTAINERS.map((container) => ({ diffusers: container, native: container, ...block }));

export const LUMINA2_NAMES: TransformerFamilyNames = { family: 'lumina2', blocks: blocksOf(LUMINA2_BLOCK), globals: {} };
export const Z_IMAGE_NAMES: TransformerFamilyNames = { family: 'z-image', blocks: blocksOf(Z_IMAGE_BLOCK), globals: {} };
