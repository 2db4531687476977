/**
 * Flux.1 (dev, schnell, Kontext, Krea, Chroma): BFL names (`double_blocks`, `single_blocks`) vs diffusers
 * (`transformer_blocks`, `single_transformer_blocks`). From the Flux conversion maps of diffusers
 * (convert_flux_to_diffusers) and ComfyUI (utils.flux_to_diffusers). diffusers `norm_out.linear` is BFL
 * `final_layer.adaLN_modulation.1` with its scale and shift halves swapped (swappedGlobals: never paired by name).
 */
import { TransformerFamilyNames } from './types';

export const FLUX_NAMES: TransformerFamilyNames = {
  family: 'flux',
  blocks: [
    {
      diffusers: 'transformer_blocks',
      native: 'double_blocks',
      renames: {
        'attn.to_out.0': 'img_attn.proj',
        'attn.to_add_out': 'txt_attn.proj',
        'norm1.linear': 'img_mod.lin',
        'norm1_context.linear': 'txt_mod.lin',
        'ff.net.0.proj': 'img_mlp.0',
        'ff.net.2': 'img_mlp.2',
        'ff_context.net.0.proj': 'txt_mlp.0',
        'ff_context.net.2': 'txt_mlp.2',
      },
      fused: {
        'img_attn.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'],
        'txt_attn.qkv': ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'],
      },
    },
    {
      diffusers: 'single_transformer_blocks',
      native: 'single_blocks',
      renames: { 'norm.linear': 'modulation.lin', proj_out: 'linear2' },
      fused: { linear1: ['attn.to_q', 'attn.to_k', 'attn.to_v', 'proj_mlp'] },
    },
  ],
  globals: {
    x_embedder: 'img_in',
    context_embedder: 'txt_in',
    'time_text_embed.timestep_embedder.linear_1': 'time_in.in_layer',
    'time_text_embed.timestep_embedder.linear_2': 'time_in.out_layer',
    'time_text_embed.text_embedder.linear_1': 'vector_in.in_layer',
    'time_text_embed.text_embedder.linear_2': 'vector_in.out_layer',
    'time_text_embed.guidance_embedder.linear_1': 'guidance_in.in_layer',
    'time_text_embed.guidance_embedder.linear_2': 'guidance_in.out_layer',
    proj_out: 'final_layer.linear',
  },
  swappedGlobals: { 'norm_out.linear': 'final_layer.adaLN_modulation.1' },
};
