/**
 * LTX-Video: diffusers module names in every trainer (no naming table); `attn1` / `attn2` self- and cross-attention
 * (the UNet-style names LTX keeps, unlike SD3's attn / attn2). 13B: 32 heads × 128 = 4096 wide, 48 blocks (its
 * diffusers config). Written under `lora_unet_` in kohya naming, as musubi-tuner does and ComfyUI maps.
 */
import { blockCount, blocksEvidence, has, withHidden } from './evidence';
import { FamilySpec } from './types';

export const LTX_VIDEO: FamilySpec<'ltx-video'> = {
  id: 'ltx-video',
  label: 'LTX-Video',
  recognisers: [
    {
      order: 160,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        if (!has(transformer, /^transformer_blocks\.\d+\.attn1\./)) return undefined;
        const blocks = blocksEvidence(blockCount(transformer, 'transformer_blocks'), 'transformer_blocks');
        const evidence = withHidden([`transformer blocks with self- and cross-attention (attn1 / attn2): ${blocks}`], hidden);
        // LTX-2's video stream has the same names and widths: without its audio layers (ltx2.ts) the file fits both.
        if (hidden === 4096) return { label: 'LTX-Video 13B or LTX-2 (video layers only)', evidence, alsoFits: ['ltx-2'] };
        return { label: 'LTX-Video', evidence };
      },
    },
  ],
  compoundIdentifiers: ['transformer_blocks', 'caption_projection', 'adaln_single', 'scale_shift_table', 'proj_in', 'proj_out'],
  diffusersPaths: /^(transformer_blocks|proj_out|norm_out)\b/,
  transformerPaths: /^(transformer_blocks|norm_out|proj_out|caption_projection|adaln_single|scale_shift_table)\b/,
  kohyaTransformerUnderUnet: true,
};
