/**
 * Wan 2.1 / 2.2: native names (Wan-Video's model.py, as musubi-tuner and ComfyUI LoRAs carry them:
 * `blocks.N.self_attn.q`, `cross_attn.k`, `ffn.0`) vs diffusers (`blocks.N.attn1.to_q`, `attn2.to_k`, `ffn.net.0.proj`).
 * Every module is a rename, none is fused: diffusers' scripts/convert_wan_to_diffusers.py TRANSFORMER_KEYS_RENAME_DICT.
 */
import { TransformerFamilyNames } from './types';

export const WAN_NAMES: TransformerFamilyNames = {
  family: 'wan',
  blocks: [
    {
      diffusers: 'blocks',
      native: 'blocks',
      renames: {
        'attn1.to_q': 'self_attn.q',
        'attn1.to_k': 'self_attn.k',
        'attn1.to_v': 'self_attn.v',
        'attn1.to_out.0': 'self_attn.o',
        'attn2.to_q': 'cross_attn.q',
        'attn2.to_k': 'cross_attn.k',
        'attn2.to_v': 'cross_attn.v',
        'attn2.to_out.0': 'cross_attn.o',
        'attn2.add_k_proj': 'cross_attn.k_img',
        'attn2.add_v_proj': 'cross_attn.v_img',
        'ffn.net.0.proj': 'ffn.0',
        'ffn.net.2': 'ffn.2',
      },
    },
  ],
  globals: {
    'condition_embedder.time_embedder.linear_1': 'time_embedding.0',
    'condition_embedder.time_embedder.linear_2': 'time_embedding.2',
    'condition_embedder.text_embedder.linear_1': 'text_embedding.0',
    'condition_embedder.text_embedder.linear_2': 'text_embedding.2',
    'condition_embedder.time_proj': 'time_projection.1',
    'condition_embedder.image_embedder.ff.net.0.proj': 'img_emb.proj.1',
    'condition_embedder.image_embedder.ff.net.2': 'img_emb.proj.3',
    proj_out: 'head.head',
  },
};
