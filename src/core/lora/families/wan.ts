/**
 * Wan 2.1 / 2.2: native names (Wan-Video's model.py, as musubi-tuner and ComfyUI LoRAs carry them:
 * `blocks.N.self_attn.q`, `cross_attn.k`, `ffn.0`) vs diffusers (`blocks.N.attn1.to_q`, `attn2.to_k`, `ffn.net.0.proj`).
 * Every module is a rename, none is fused: diffusers' scripts/convert_wan_to_diffusers.py TRANSFORMER_KEYS_RENAME_DICT.
 * 1.3B is 12 heads × 128 = 1536 wide (30 blocks), 14B 40 × 128 = 5120 (40 blocks) (the configs there).
 */
import { blockCount, blocksEvidence, has, withHidden } from './evidence';
import { FamilySpec, TransformerNames } from './types';
import { wanVariant } from './wan-variant';

function wanLabel(hidden: number | undefined, imageToVideo: boolean): string {
  const size = hidden === 1536 ? ' 1.3B' : hidden === 5120 ? ' 14B' : hidden === 3072 ? ' TI2V-5B' : '';
  return `Wan 2.1 / 2.2${size}${imageToVideo ? ' image-to-video' : ''}`;
}

const NATIVE_PATHS = /^(text_embedding|time_projection|patch_embedding|img_emb|head\.head|time_embedding\.\d|blocks\.\d+\.(self_attn|cross_attn|ffn\.\d))\b/;
const DIFFUSERS_BLOCKS = /^blocks\.\d+\.(attn1|attn2|ffn\.net)\b/;

const NAMES: TransformerNames = {
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

export const WAN: FamilySpec<'wan'> = {
  id: 'wan',
  label: 'Wan 2.1 / 2.2',
  recognisers: [
    {
      order: 120,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const native = has(transformer, /^blocks\.\d+\.(self_attn|cross_attn|ffn\.\d)/);
        const diffusers = has(transformer, /^blocks\.\d+\.(attn1|attn2|ffn\.net)\./);
        if (!native && !diffusers) return undefined;
        const i2v = has(transformer, /^blocks\.\d+\.(cross_attn\.[kv]_img|attn2\.add_[kv]_proj)$/);
        const names = native ? 'self_attn / cross_attn / ffn (native names)' : 'attn1 / attn2 / ffn.net (diffusers names)';
        const blocks = blocksEvidence(blockCount(transformer, 'blocks'), 'blocks');
        return { label: wanLabel(hidden, i2v), evidence: withHidden([`Wan blocks with ${names}: ${blocks}`], hidden) };
      },
    },
  ],
  compoundIdentifiers: [
    'self_attn', 'cross_attn', 'k_img', 'v_img', 'img_emb', 'text_embedding', 'time_projection', 'patch_embedding',
    'condition_embedder', 'time_embedder', 'image_embedder', 'text_embedder', 'time_proj', 'time_embedding', 'linear_1', 'linear_2',
  ],
  nativePaths: NATIVE_PATHS,
  diffusersPaths: /^(blocks\.\d+\.(attn1|attn2|ffn\.net)|condition_embedder|proj_out|norm_out)\b/,
  barePaths: [
    { component: 'transformer', pattern: NATIVE_PATHS },
    { component: 'transformer', pattern: DIFFUSERS_BLOCKS },
  ],
  // Embedders numbered like blocks (`time_embedding.0`, `text_embedding.2`) come first.
  chartStages: {
    time_embedding: { rank: 0 }, text_embedding: { rank: 0 }, time_projection: { rank: 0 }, img_emb: { rank: 0 },
    blocks: { rank: 1, short: 'b' },
  },
  names: NAMES,
  variant: wanVariant,
};
