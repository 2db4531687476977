/**
 * SD3 / SD3.5 (MMDiT): SAI native `joint_blocks.N.x_block` (image stream) / `context_block` (text stream), each
 * with a fused `attn.qkv`, vs diffusers `transformer_blocks.N` with split to_q/to_k/to_v and add_*_proj. From
 * ComfyUI's utils.mmdit_to_diffusers (MMDIT_MAP_BLOCK / MMDIT_MAP_BASIC; qkv rows split at hidden = 64·depth) and
 * diffusers' SD3 single-file conversion (SD3.5 Medium's second image attention `x_block.attn2`). Swapped halves:
 * `norm_out.linear` (final_layer.adaLN_modulation.1, in swappedGlobals) and the last block's `norm1_context.linear`,
 * which is 2·hidden wide there (the pre-only text block) and 6·hidden in the other blocks.
 * Text encoders: CLIP-L, CLIP-G and T5 (`lora_te1_`, `lora_te2_`, `lora_te3_`).
 */
import { blockCount, blocksEvidence, has, jointDiffusersBlocks, kohyaBaseModel, modelspecArchitecture, withHidden } from './evidence';
import { FamilySpec, TransformerNames } from './types';

/** hidden = 64 · depth (ComfyUI mmdit_to_diffusers); SD3.5 Medium (MMDiT-X) adds a second image attention. */
function sd3Label(hidden: number | undefined, dualAttention: boolean): string {
  if (hidden === 2432) return 'SD3.5 Large';
  if (hidden === 1536) return dualAttention ? 'SD3.5 Medium' : 'SD3 Medium or SD3.5 Medium';
  return 'SD3 / SD3.5';
}

const NATIVE_PATHS = /^(joint_blocks|final_layer|t_embedder|y_embedder|x_embedder\.proj)\b/;

const NAMES: TransformerNames = {
  blocks: [
    {
      diffusers: 'transformer_blocks',
      native: 'joint_blocks',
      renames: {
        'attn.to_out.0': 'x_block.attn.proj',
        'attn.to_add_out': 'context_block.attn.proj',
        'attn2.to_out.0': 'x_block.attn2.proj',
        'norm1.linear': 'x_block.adaLN_modulation.1',
        'norm1_context.linear': 'context_block.adaLN_modulation.1',
        'ff.net.0.proj': 'x_block.mlp.fc1',
        'ff.net.2': 'x_block.mlp.fc2',
        'ff_context.net.0.proj': 'context_block.mlp.fc1',
        'ff_context.net.2': 'context_block.mlp.fc2',
      },
      fused: {
        'x_block.attn.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'],
        'context_block.attn.qkv': ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'],
        'x_block.attn2.qkv': ['attn2.to_q', 'attn2.to_k', 'attn2.to_v'],
      },
      swappedHalves: { 'norm1_context.linear': 2 },
    },
  ],
  globals: {
    'pos_embed.proj': 'x_embedder.proj',
    context_embedder: 'context_embedder',
    'time_text_embed.timestep_embedder.linear_1': 't_embedder.mlp.0',
    'time_text_embed.timestep_embedder.linear_2': 't_embedder.mlp.2',
    'time_text_embed.text_embedder.linear_1': 'y_embedder.mlp.0',
    'time_text_embed.text_embedder.linear_2': 'y_embedder.mlp.2',
    proj_out: 'final_layer.linear',
  },
  swappedGlobals: { 'norm_out.linear': 'final_layer.adaLN_modulation.1' },
};

export const SD3: FamilySpec<'sd3'> = {
  id: 'sd3',
  label: 'SD3 / SD3.5',
  metadata: [kohyaBaseModel(1, /sd3/i), modelspecArchitecture(2, /stable-diffusion-v3/i)],
  recognisers: [
    {
      order: 110,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const joint = blockCount(transformer, 'joint_blocks');
        if (!joint) return undefined;
        const dual = has(transformer, /^joint_blocks\.\d+\.x_block\.attn2\./);
        const evidence = [`MMDiT joint blocks (x_block / context_block): ${blocksEvidence(joint, 'joint_blocks')}`];
        if (dual) evidence.push('a second image attention (x_block.attn2)');
        return { label: sd3Label(hidden, dual), evidence: withHidden(evidence, hidden) };
      },
    },
    {
      order: 173,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const joint = jointDiffusersBlocks(transformer);
        const dual = has(transformer, /^transformer_blocks\.\d+\.attn2\./);
        if (!joint || hidden === 3072 || !(hidden === 1536 || hidden === 2432 || dual)) return undefined;
        return { label: sd3Label(hidden, dual), evidence: withHidden([joint.evidence, ...(dual ? ['a second image attention (attn2)'] : [])], hidden) };
      },
    },
    {
      order: 301,
      reads: 'file',
      recognise: ({ t5Component, components }) => {
        if (t5Component !== 'text_encoder_3') return undefined;
        const evidence = ['a T5 text encoder as the third encoder (text_encoder_3 / lora_te3_)'];
        if (!components.has('text_encoder_2')) return { label: 'Flux or SD3 (text encoders only)', evidence, unknown: true };
        return { label: 'SD3 / SD3.5 (text encoders only)', evidence: [...evidence, 'a second CLIP encoder (CLIP-G)'] };
      },
    },
  ],
  compoundIdentifiers: ['joint_blocks', 'x_block', 'context_block', 't_embedder', 'y_embedder', 'pos_embed', 'context_embedder', 'final_layer', 'adaLN_modulation'],
  nativePaths: NATIVE_PATHS,
  diffusersPaths: /^(transformer_blocks|time_text_embed|proj_out|norm_out)\b/,
  transformerPaths: /^(transformer_blocks|x_embedder|context_embedder|time_text_embed|norm_out|proj_out|pos_embed)\b/,
  barePaths: [
    { component: 'transformer', pattern: /^(transformer_blocks|x_embedder|context_embedder|time_text_embed)\./ },
    { component: 'transformer', pattern: NATIVE_PATHS },
  ],
  names: NAMES,
  kohyaTextEncoderPrefixes: { text_encoder: 'lora_te1_' },
  chartStages: { joint_blocks: { rank: 1, short: 'jb' }, final_layer: { rank: 4 } },
};
