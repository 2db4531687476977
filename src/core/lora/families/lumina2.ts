/**
 * Lumina 2 (NextDiT, next-dit.ts). In diffusers: `attn.to_q/to_k/to_v` (grouped-query: k and v narrower than q),
 * `attn.to_out.0`, `feed_forward.linear_1..3`, `norm1.linear` = `adaLN_modulation.1`
 * (diffusers' _convert_non_diffusers_lumina2_lora_to_diffusers). 2304 wide.
 */
import { withHidden } from './evidence';
import { NEXT_DIT_SPEC, nextDitBlocks, nextDitEvidence, nextDitRecogniser } from './next-dit';
import { FamilySpec } from './types';

export const LUMINA2: FamilySpec<'lumina2'> = {
  id: 'lumina2',
  label: 'Lumina 2',
  recognisers: [
    nextDitRecogniser(131, 'lumina2', 'Lumina 2'),
    {
      // Neither: a pairing then reads these names as the other file's family (Lumina 2 and Z-Image name qkv's parts differently).
      order: 132,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const nextDit = nextDitEvidence(transformer, hidden);
        if (!nextDit || nextDit.lumina2 || nextDit.zImage) return undefined;
        const evidence = withHidden([...nextDit.evidence, 'width not one of Lumina 2 (2304) or Z-Image (3840)'], hidden);
        return { label: 'Lumina 2 or Z-Image', evidence, unknown: true };
      },
    },
  ],
  ...NEXT_DIT_SPEC,
  names: {
    blocks: nextDitBlocks({
      renames: {
        'attn.to_out.0': 'attention.out',
        'feed_forward.linear_1': 'feed_forward.w1',
        'feed_forward.linear_2': 'feed_forward.w2',
        'feed_forward.linear_3': 'feed_forward.w3',
        'norm1.linear': 'adaLN_modulation.1',
      },
      fused: { 'attention.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'] },
    }),
    globals: {},
  },
};
