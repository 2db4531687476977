/**
 * HunyuanVideo: native (Tencent's code, musubi-tuner / ComfyUI LoRAs) `double_blocks.N.img_attn_qkv` (fused),
 * `img_attn_proj`, `img_mlp.fc1`, `img_mod.linear`, single-stream `linear1` (fused q, k, v and MLP in) vs diffusers
 * `transformer_blocks` / `single_transformer_blocks`. From diffusers' scripts/convert_hunyuan_video_to_diffusers.py
 * (TRANSFORMER_KEYS_RENAME_DICT and its qkv / single-block remaps). Left out: the text token refiner (`txt_in`,
 * remapped there by a custom function, not a plain rename). `norm_out.linear` is in swappedGlobals (halves swapped).
 * 20 double + 40 single blocks, 3072 wide (diffusers' config; Flux has 19 + 38); single-stream MLP 4 × hidden.
 */
import { has, jointDiffusersBlocks, withHidden } from './evidence';
import { STREAM_CHART_STAGES, streamBlocks } from './stream-blocks';
import { FamilySpec, TransformerNames } from './types';

const NATIVE_NAMES = /^(double_blocks\.\d+\.(img|txt)_(attn_qkv|attn_proj|mlp\.fc\d|mod\.linear)|single_blocks\.\d+\.modulation\.linear)$/;
const OWN_PATHS = /^(double_blocks|single_blocks|img_in|txt_in|time_in|vector_in|guidance_in|final_layer)\b/;

const NAMES: TransformerNames = {
  blocks: [
    {
      diffusers: 'transformer_blocks',
      native: 'double_blocks',
      renames: {
        'attn.to_out.0': 'img_attn_proj',
        'attn.to_add_out': 'txt_attn_proj',
        'norm1.linear': 'img_mod.linear',
        'norm1_context.linear': 'txt_mod.linear',
        'ff.net.0.proj': 'img_mlp.fc1',
        'ff.net.2': 'img_mlp.fc2',
        'ff_context.net.0.proj': 'txt_mlp.fc1',
        'ff_context.net.2': 'txt_mlp.fc2',
      },
      fused: {
        img_attn_qkv: ['attn.to_q', 'attn.to_k', 'attn.to_v'],
        txt_attn_qkv: ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'],
      },
    },
    {
      diffusers: 'single_transformer_blocks',
      native: 'single_blocks',
      renames: { proj_out: 'linear2', 'norm.linear': 'modulation.linear' },
      fused: { linear1: ['attn.to_q', 'attn.to_k', 'attn.to_v', 'proj_mlp'] },
    },
  ],
  globals: {
    'x_embedder.proj': 'img_in.proj',
    'time_text_embed.timestep_embedder.linear_1': 'time_in.mlp.0',
    'time_text_embed.timestep_embedder.linear_2': 'time_in.mlp.2',
    'time_text_embed.guidance_embedder.linear_1': 'guidance_in.mlp.0',
    'time_text_embed.guidance_embedder.linear_2': 'guidance_in.mlp.2',
    'time_text_embed.text_embedder.linear_1': 'vector_in.in_layer',
    'time_text_embed.text_embedder.linear_2': 'vector_in.out_layer',
    proj_out: 'final_layer.linear',
  },
  swappedGlobals: { 'norm_out.linear': 'final_layer.adaLN_modulation.1' },
};

export const HUNYUAN_VIDEO: FamilySpec<'hunyuan-video'> = {
  id: 'hunyuan-video',
  label: 'HunyuanVideo',
  recognisers: [
    {
      order: 140,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const streams = streamBlocks(transformer);
        const named = has(transformer, NATIVE_NAMES);
        if (!streams || !(named || streams.double > 19 || streams.single > 38)) return undefined;
        const why = named ? 'HunyuanVideo module names (img_attn_qkv, img_mlp.fc1, img_mod.linear…)' : 'more blocks than Flux has (19 double, 38 single)';
        return { label: 'HunyuanVideo', evidence: withHidden([`double/single-stream blocks: ${streams.counts.join(', ')}`, why], hidden) };
      },
    },
    {
      order: 171,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const joint = jointDiffusersBlocks(transformer);
        if (!joint || hidden !== 3072 || joint.count !== 20) return undefined;
        return { label: 'HunyuanVideo (double-stream blocks only)', evidence: withHidden([joint.evidence, '20 blocks at width 3072 (HunyuanVideo; Flux has 19)'], hidden) };
      },
    },
  ],
  compoundIdentifiers: ['img_attn', 'txt_attn', 'img_mlp', 'txt_mlp', 'img_mod', 'txt_mod', 'img_in', 'txt_in', 'time_in', 'vector_in', 'guidance_in'],
  nativePaths: OWN_PATHS,
  diffusersPaths: /^(transformer_blocks|single_transformer_blocks|time_text_embed|proj_out|norm_out)\b/,
  barePaths: [{ component: 'transformer', pattern: OWN_PATHS }],
  names: NAMES,
  mlpRatio: 4,
  chartStages: STREAM_CHART_STAGES,
};
