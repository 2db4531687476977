/**
 * Z-Image (NextDiT, next-dit.ts). In diffusers: `attention.to_q/to_k/to_v` (equal thirds), `attention.to_out.0` =
 * `attention.out`, the rest unchanged (ComfyUI's utils.z_image_to_diffusers). 3840 wide (30 heads, no grouping).
 */
import { withHidden } from './evidence';
import { NEXT_DIT_BARE_PATHS, NEXT_DIT_COMPOUNDS, NEXT_DIT_DIFFUSERS_PATHS, NEXT_DIT_NATIVE_PATHS, NEXT_DIT_STAGES, nextDitBlocks, nextDitEvidence } from './next-dit';
import { FamilySpec } from './types';

export const Z_IMAGE: FamilySpec<'z-image'> = {
  id: 'z-image',
  label: 'Z-Image',
  recognisers: [
    {
      order: 130,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const nextDit = nextDitEvidence(transformer, hidden);
        return nextDit?.zImage ? { label: 'Z-Image', evidence: withHidden(nextDit.evidence, hidden) } : undefined;
      },
    },
  ],
  compoundIdentifiers: NEXT_DIT_COMPOUNDS,
  nativePaths: NEXT_DIT_NATIVE_PATHS,
  unetPrefixedDiffusersPaths: NEXT_DIT_DIFFUSERS_PATHS,
  barePaths: NEXT_DIT_BARE_PATHS,
  chartStages: NEXT_DIT_STAGES,
  names: {
    blocks: nextDitBlocks({
      renames: { 'attention.to_out.0': 'attention.out' },
      fused: { 'attention.qkv': ['attention.to_q', 'attention.to_k', 'attention.to_v'] },
    }),
    globals: {},
  },
};
