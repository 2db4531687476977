/**
 * Qwen-Image (MMDiT, 60 joint blocks, 3072 wide: its diffusers config). Its LoRAs use the diffusers module names in
 * every trainer (musubi-tuner, ai-toolkit, diffusers), so there is no naming table: they pair as they are.
 * musubi-tuner writes them under `lora_unet_`, which ComfyUI maps (it has no `lora_transformer_` for them).
 */
import { blockCount, blocksEvidence, has, jointDiffusersBlocks, withHidden } from './evidence';
import { FamilySpec } from './types';

export const QWEN_IMAGE: FamilySpec<'qwen-image'> = {
  id: 'qwen-image',
  label: 'Qwen-Image',
  recognisers: [
    {
      order: 150,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        if (!has(transformer, /^transformer_blocks\.\d+\.(img_mlp|txt_mlp|img_mod|txt_mod)\./)) return undefined;
        const blocks = blocksEvidence(blockCount(transformer, 'transformer_blocks'), 'transformer_blocks');
        return { label: 'Qwen-Image', evidence: withHidden([`joint blocks with img_mlp / txt_mlp (Qwen-Image): ${blocks}`], hidden) };
      },
    },
    {
      order: 170,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const joint = jointDiffusersBlocks(transformer);
        if (!joint || hidden !== 3072 || joint.count <= 20) return undefined;
        return { label: 'Qwen-Image', evidence: withHidden([joint.evidence, 'more than 20 blocks at width 3072 (Qwen-Image has 60)'], hidden) };
      },
    },
  ],
  compoundIdentifiers: ['transformer_blocks', 'img_mlp', 'txt_mlp', 'img_mod', 'txt_mod', 'txt_norm', 'add_q_proj', 'add_k_proj', 'add_v_proj', 'to_add_out', 'norm_added_q', 'norm_added_k'],
  diffusersPaths: /^(transformer_blocks|time_text_embed|proj_out|norm_out|txt_norm)\b/,
  transformerPaths: /^(transformer_blocks|time_text_embed|norm_out|proj_out|txt_norm)\b/,
  kohyaTransformerUnderUnet: true,
};
