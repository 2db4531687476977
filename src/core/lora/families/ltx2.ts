/**
 * LTX-2 (Lightricks' audio-video model): LTX-Video's transformer blocks (attn1 / attn2 / ff, the diffusers names in
 * every trainer) plus an audio stream in each block — audio_attn1 / audio_attn2 / audio_ff and the two cross-modal
 * attentions audio_to_video_attn (q from video, k / v from audio) and video_to_audio_attn. 4096 wide video, 2048
 * wide audio, 48 blocks: diffusers' transformer_ltx2.py (LTX2VideoTransformer3DModel's defaults).
 * Its own names differ from diffusers' only outside the blocks (diffusers' _convert_non_diffusers_ltx2_lora_to_diffusers
 * renames `patchify_proj` → `proj_in`, `adaln_single` → `time_embed`, the `av_ca_*` modulations), so a ComfyUI /
 * ai-toolkit file (`diffusion_model.` + the own names) and a diffusers one pair module by module.
 * A file of video layers only, 4096 wide, has LTX-Video 13B's names and widths too: it is told by the audio layers.
 */
import { blockCount, blocksEvidence, has } from './evidence';
import { FamilySpec, TransformerNames } from './types';

const AUDIO_BLOCK_MODULES = /^transformer_blocks\.\d+\.(audio_attn[12]|audio_to_video_attn|video_to_audio_attn|audio_ff)\./;

/** The own names of the modules outside the blocks (the LTX-2 checkpoint's, which ComfyUI loads). */
const NATIVE_GLOBALS = /^(patchify_proj|audio_patchify_proj|adaln_single|audio_adaln_single|av_ca_(video|audio)_scale_shift_adaln_single|av_ca_(a2v|v2a)_gate_adaln_single)\b/;

const ADALN_PARTS = ['linear', 'emb.timestep_embedder.linear_1', 'emb.timestep_embedder.linear_2'];

/** diffusers adaLN module → the own one, for each of its linears. */
function adaln(diffusers: string, native: string): Record<string, string> {
  return Object.fromEntries(ADALN_PARTS.map((part) => [`${diffusers}.${part}`, `${native}.${part}`]));
}

const NAMES: TransformerNames = {
  blocks: [{ diffusers: 'transformer_blocks', native: 'transformer_blocks', renames: {} }],
  globals: {
    proj_in: 'patchify_proj',
    audio_proj_in: 'audio_patchify_proj',
    ...adaln('time_embed', 'adaln_single'),
    ...adaln('audio_time_embed', 'audio_adaln_single'),
    ...adaln('av_cross_attn_video_scale_shift', 'av_ca_video_scale_shift_adaln_single'),
    ...adaln('av_cross_attn_audio_scale_shift', 'av_ca_audio_scale_shift_adaln_single'),
    ...adaln('av_cross_attn_video_a2v_gate', 'av_ca_a2v_gate_adaln_single'),
    ...adaln('av_cross_attn_audio_v2a_gate', 'av_ca_v2a_gate_adaln_single'),
  },
};

export const LTX2: FamilySpec<'ltx-2'> = {
  id: 'ltx-2',
  label: 'LTX-2',
  recognisers: [
    {
      // Before LTX-Video's (160): both have attn1 / attn2 blocks, only LTX-2 an audio stream.
      order: 155,
      reads: 'transformer',
      recognise: ({ transformer }) => {
        if (!has(transformer, AUDIO_BLOCK_MODULES)) return undefined;
        const blocks = blocksEvidence(blockCount(transformer, 'transformer_blocks'), 'transformer_blocks');
        // Audio layers are as many as video ones, so the most common width says little: each stream's own is shown.
        const widths = (['attn1', 'audio_attn1'] as const).flatMap((attention) => {
          const layer = transformer.find((l) => new RegExp(`^transformer_blocks\\.\\d+\\.${attention}\\.to_q$`).test(l.path));
          return layer ? [`${attention === 'attn1' ? 'video' : 'audio'} width ${layer.inFeatures}`] : [];
        });
        return { label: 'LTX-2', evidence: [`transformer blocks with video and audio attention (attn1 / attn2 and audio_attn1 / audio_attn2 / audio_to_video_attn / video_to_audio_attn): ${blocks}`, ...widths] };
      },
    },
  ],
  compoundIdentifiers: [
    'transformer_blocks', 'audio_attn1', 'audio_attn2', 'audio_to_video_attn', 'video_to_audio_attn', 'audio_ff', 'to_q', 'to_k', 'to_v', 'to_out',
    'proj_in', 'proj_out', 'audio_proj_in', 'audio_proj_out', 'patchify_proj', 'audio_patchify_proj', 'caption_projection', 'audio_caption_projection',
    'linear_1', 'linear_2', 'time_embed', 'audio_time_embed', 'adaln_single', 'audio_adaln_single', 'timestep_embedder',
    'av_cross_attn_video_scale_shift', 'av_cross_attn_audio_scale_shift', 'av_cross_attn_video_a2v_gate', 'av_cross_attn_audio_v2a_gate',
    'av_ca_video_scale_shift_adaln_single', 'av_ca_audio_scale_shift_adaln_single', 'av_ca_a2v_gate_adaln_single', 'av_ca_v2a_gate_adaln_single',
  ],
  nativePaths: NATIVE_GLOBALS,
  diffusersPaths: /^(transformer_blocks\.\d+\.(audio_attn[12]|audio_to_video_attn|video_to_audio_attn|audio_ff)|audio_proj_in|audio_proj_out|(audio_)?caption_projection|(audio_)?time_embed\.(linear|emb)|av_cross_attn_)/,
  transformerPaths: /^(transformer_blocks|proj_in|proj_out|audio_proj_out|caption_projection|audio_caption_projection|scale_shift_table)\b/,
  kohyaTransformerUnderUnet: true,
  // The audio stream's output projection, beside proj_out after the blocks.
  chartStages: { audio_proj_out: { rank: 4 } },
  names: NAMES,
};
