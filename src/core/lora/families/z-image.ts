/**
 * Z-Image (NextDiT, next-dit.ts). In diffusers: `attention.to_q/to_k/to_v` (equal thirds), `attention.to_out.0` =
 * `attention.out`, the rest unchanged (ComfyUI's utils.z_image_to_diffusers). 3840 wide (30 heads, no grouping).
 */
import { NEXT_DIT_SPEC, nextDitBlocks, nextDitRecogniser } from './next-dit';
import { FamilySpec } from './types';

export const Z_IMAGE: FamilySpec<'z-image'> = {
  id: 'z-image',
  label: 'Z-Image',
  recognisers: [
    nextDitRecogniser(130, 'zImage', 'Z-Image'),
  ],
  ...NEXT_DIT_SPEC,
  names: {
    blocks: nextDitBlocks({
      renames: { 'attention.to_out.0': 'attention.out' },
      fused: { 'attention.qkv': ['attention.to_q', 'attention.to_k', 'attention.to_v'] },
    }),
    globals: {},
  },
};
