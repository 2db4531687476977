/**
 * HunyuanVideo: native (Tencent's code, musubi-tuner / ComfyUI LoRAs) `double_blocks.N.img_attn_qkv` (fused),
 * `img_attn_proj`, `img_mlp.fc1`, `img_mod.linear`, single-stream `linear1` (fused q, k, v and MLP in) vs diffusers
 * `transformer_blocks` / `single_transformer_blocks`. From diffusers' scripts/convert_hunyuan_video_to_diffusers.py
 * (TRANSFORMER_KEYS_RENAME_DICT and its qkv / single-block remaps). Left out: the text token refiner (`txt_in`,
 * remapped there by a custom function, not a plain rename). `norm_out.linear` is in swappedGlobals (halves swapped).
 */
import { TransformerFamilyNames } from './types';

export const HUNYUAN_VIDEO_NAMES: TransformerFamilyNames = {
  family: 'hunyuan-video',
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
