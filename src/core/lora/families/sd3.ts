/**
 * SD3 / SD3.5 (MMDiT): SAI native `joint_blocks.N.x_block` (image stream) / `context_block` (text stream), each
 * with a fused `attn.qkv`, vs diffusers `transformer_blocks.N` with split to_q/to_k/to_v and add_*_proj. From
 * ComfyUI's utils.mmdit_to_diffusers (MMDIT_MAP_BLOCK / MMDIT_MAP_BASIC; qkv rows split at hidden = 64·depth) and
 * diffusers' SD3 single-file conversion (SD3.5 Medium's second image attention `x_block.attn2`). Swapped halves:
 * `norm_out.linear` (final_layer.adaLN_modulation.1, in swappedGlobals) and the last block's `norm1_context.linear`,
 * which is 2·hidden wide there (the pre-only text block) and 6·hidden in the other blocks.
 */
import { TransformerFamilyNames } from './types';

export const SD3_NAMES: TransformerFamilyNames = {
  family: 'sd3',
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
