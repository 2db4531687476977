/**
 * HiDream-I1: its own module names are the diffusers ones (diffusers transformer_hidream_image.py @07c670ee,
 * HiDreamImageTransformer2DModel: 16 `double_stream_blocks` + 32 `single_stream_blocks`, 20 heads × 128 = 2560 wide; each
 * `block.attn1` with to_q / to_k / to_v / to_out (and the text stream's to_q_t … to_out_t in the double blocks), a
 * mixture-of-experts MLP `block.ff_i` (shared_experts w1 / w2 / w3 and experts.0–3, SwiGLU), the text MLP `block.ff_t`,
 * `block.adaLN_modulation.1`), so there is no naming table: every trainer's files pair as they are. ai-toolkit and
 * ComfyUI write them under `diffusion_model.` (diffusers' HiDreamImageLoraLoaderMixin converts such files with
 * `_convert_non_diffusers_hidream_lora_to_diffusers`), SimpleTuner / diffusers under `transformer.`, and ComfyUI maps
 * `lora_unet_` + the path with `_` as for every model (comfy/lora.py model_lora_keys_unet; its HiDream branch adds
 * `transformer.` and `lycoris_`).
 */
import { blockCount, blocksEvidence, has, withHidden } from './evidence';
import { FamilySpec } from './types';

const HIDREAM_PATHS = /^(double_stream_blocks|single_stream_blocks|caption_projection|t_embedder|p_embedder)\b/;

export const HIDREAM: FamilySpec<'hidream'> = {
  id: 'hidream',
  label: 'HiDream-I1',
  recognisers: [
    {
      order: 125,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        if (!has(transformer, /^(double_stream_blocks|single_stream_blocks)\.\d+\.block\./)) return undefined;
        const counts = ['double_stream_blocks', 'single_stream_blocks'].flatMap((c) => {
          const n = blockCount(transformer, c);
          return n ? [blocksEvidence(n, c)] : [];
        });
        const width = hidden === 2560 ? ['width 2560 (HiDream-I1: 20 heads × 128)'] : [];
        return { label: 'HiDream-I1', evidence: withHidden([`HiDream blocks (block.attn1 / ff_i / ff_t): ${counts.join(', ')}`, ...width], hidden) };
      },
    },
  ],
  compoundIdentifiers: [
    'double_stream_blocks', 'single_stream_blocks', 'to_q_t', 'to_k_t', 'to_v_t', 'to_out_t', 'ff_i', 'ff_t', 'shared_experts',
    'adaLN_modulation', 'caption_projection', 't_embedder', 'p_embedder', 'x_embedder', 'timestep_embedder', 'pooled_embedder', 'final_layer', 'linear_1', 'linear_2',
  ],
  diffusersPaths: HIDREAM_PATHS,
  transformerPaths: HIDREAM_PATHS,
  barePaths: [{ component: 'transformer', pattern: HIDREAM_PATHS }],
  kohyaTransformerUnderUnet: true,
  chartStages: {
    caption_projection: { rank: 0 },
    double_stream_blocks: { rank: 1, short: 'db' },
    single_stream_blocks: { rank: 3, short: 'sb' },
  },
};
