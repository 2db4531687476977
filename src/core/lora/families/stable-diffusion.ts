/**
 * The Stable Diffusion UNets: SD1.x, SD2.x and SDXL. Told apart by the cross-attention context width (attn2.to_k
 * input: 768 for SD1.x's CLIP-L, 1024 for SD2.x's OpenCLIP-H, 2048 for SDXL's two encoders), a second text
 * encoder, or where the attentions sit. kohya writes SDXL's UNet in the LDM layout (`input_blocks_4_1_…`) and its
 * encoders as `lora_te1_` / `lora_te2_`; SD1.x / SD2.x in diffusers layout with `lora_te_`. The up blocks holding
 * attentions decide where the upsampler sits in LDM numbering (unet-blocks.ts).
 */
import { kohyaBaseModel, modelspecArchitecture, mostCommon } from './evidence';
import { BarePathRule, ChartStage, FamilySpec, FileEvidence, Recogniser } from './types';

const UNET_COMPOUNDS = [
  'down_blocks', 'up_blocks', 'mid_block', 'input_blocks', 'output_blocks', 'middle_block', 'transformer_blocks',
  'proj_in', 'proj_out', 'proj_attn', 'time_emb_proj', 'conv_shortcut', 'conv_in', 'conv_out', 'time_embedding', 'add_embedding',
  'linear_1', 'linear_2', 'in_layers', 'out_layers', 'emb_layers', 'skip_connection', 'time_embed', 'label_emb',
];
const UNET_STAGES: Readonly<Record<string, ChartStage>> = {
  time_embedding: { rank: 0 },
  down_blocks: { rank: 1, short: 'down' }, input_blocks: { rank: 1, short: 'in' },
  mid_block: { rank: 2, short: 'mid' }, middle_block: { rank: 2, short: 'mid' },
  up_blocks: { rank: 3, short: 'up' }, output_blocks: { rank: 3, short: 'out' },
  conv_norm_out: { rank: 4 }, conv_out: { rank: 4 }, out: { rank: 4 },
};
// Patterns used per layer or per tensor name, made once (a literal in a callback is a new RegExp each call).
const CROSS_ATTENTION_KV = /^unet\..*attn2\.to_[kv]$/;
const FIRST_DOWN_BLOCK_ATTENTION = /^unet\.down_blocks\.0\.attentions\./;
const TEXT_ENCODER_QUERY = /^text_encoder\..*self_attn\.q_proj$/;
const DEEP_ATTENTION_BLOCK = /^unet\.down_blocks\.[12]\.attentions\.\d+\.transformer_blocks\.[2-9]\./;
const LDM_CHECKPOINT_NAME = /^model\.diffusion_model\./;
const SDXL_CONDITIONER_NAME = /^conditioner\.embedders\./;
const UNET_BARE_PATHS: readonly BarePathRule[] = [{ component: 'unet', pattern: /^(down_blocks|up_blocks|mid_block|conv_in|conv_out|time_embedding\.linear_|add_embedding)/ }];

/** The family whose UNet cross-attention reads a context this wide. */
function crossAttentionRecogniser(order: number, width: number, label: string): Recogniser {
  return {
    order,
    reads: 'file',
    recognise: ({ layers, components }: FileEvidence) => {
      if (mostCommon(layers.filter((l) => CROSS_ATTENTION_KV.test(l.module)).map((l) => l.inFeatures)) !== width) return undefined;
      return { label, evidence: [`UNet cross-attention context width ${width}`, ...(components.has('text_encoder_2') ? ['a second text encoder'] : [])] };
    },
  };
}

export const SD1: FamilySpec<'sd1'> = {
  id: 'sd1',
  label: 'SD1.x',
  metadata: [kohyaBaseModel(6, /^sd_v1|v1/i), modelspecArchitecture(10, /stable-diffusion-v1/i)],
  recognisers: [
    crossAttentionRecogniser(200, 768, 'SD1.x'),
    {
      order: 500,
      reads: 'file',
      recognise: ({ layers }) =>
        layers.some((l) => FIRST_DOWN_BLOCK_ATTENTION.test(l.module)) ? { label: 'SD1.x or SD2.x', evidence: ['attention in the first down block (SDXL has none there)'] } : undefined,
    },
    {
      order: 700,
      reads: 'file',
      recognise: ({ layers, components }) => {
        const textWidth = mostCommon(layers.filter((l) => TEXT_ENCODER_QUERY.test(l.module)).map((l) => l.inFeatures));
        if (textWidth !== 768 || components.has('unet')) return undefined;
        return { label: 'SD1.x or SDXL (text encoder only)', evidence: ['CLIP-L text encoder only (width 768): SD1.x or SDXL'], unknown: true };
      },
    },
  ],
  compoundIdentifiers: UNET_COMPOUNDS,
  barePaths: UNET_BARE_PATHS,
  chartStages: UNET_STAGES,
  unet: { upBlocksWithAttention: [1, 2, 3], kohyaLayout: 'diffusers' },
  fileLooks: [{ order: 4, test: (names) => names.some((n) => LDM_CHECKPOINT_NAME.test(n)), looksLike: 'a full Stable Diffusion checkpoint (LDM layout: model.diffusion_model.*)' }],
};

export const SD2: FamilySpec<'sd2'> = {
  id: 'sd2',
  label: 'SD2.x',
  metadata: [kohyaBaseModel(5, /^sd_v2|v2/i), modelspecArchitecture(9, /stable-diffusion-v2/i), { order: 11, key: 'ss_v2', pattern: /^true$/i }],
  recognisers: [crossAttentionRecogniser(201, 1024, 'SD2.x')],
  compoundIdentifiers: UNET_COMPOUNDS,
  barePaths: UNET_BARE_PATHS,
  chartStages: UNET_STAGES,
  unet: { upBlocksWithAttention: [1, 2, 3], kohyaLayout: 'diffusers' },
};

export const SDXL: FamilySpec<'sdxl'> = {
  id: 'sdxl',
  label: 'SDXL',
  metadata: [kohyaBaseModel(3, /sdxl/i), modelspecArchitecture(7, /stable-diffusion-xl/i)],
  recognisers: [
    crossAttentionRecogniser(202, 2048, 'SDXL'),
    {
      order: 400,
      reads: 'file',
      recognise: ({ components }) => (components.has('text_encoder_2') ? { label: 'SDXL', evidence: ['a second text encoder (text_encoder_2 / lora_te2_)'] } : undefined),
    },
    {
      order: 600,
      reads: 'file',
      recognise: ({ layers }) =>
        layers.some((l) => DEEP_ATTENTION_BLOCK.test(l.module))
          ? { label: 'SDXL', evidence: ['more than one transformer block per attention (SDXL)'] }
          : undefined,
    },
  ],
  compoundIdentifiers: UNET_COMPOUNDS,
  barePaths: UNET_BARE_PATHS,
  chartStages: UNET_STAGES,
  unet: { upBlocksWithAttention: [0, 1], kohyaLayout: 'ldm' },
  kohyaTextEncoderPrefixes: { text_encoder: 'lora_te1_' },
  fileLooks: [
    { order: 2, test: (names) => names.length > 0 && names.every((n) => n === 'clip_l' || n === 'clip_g'), looksLike: 'an SDXL textual-inversion embedding (clip_l/clip_g)' },
    { order: 5, test: (names) => names.some((n) => SDXL_CONDITIONER_NAME.test(n)), looksLike: 'SDXL checkpoint weights (conditioner.embedders.*)' },
  ],
};
