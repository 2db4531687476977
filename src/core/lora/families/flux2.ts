/**
 * Flux.2 [dev]: BFL names (`double_blocks`, `single_blocks`, as ai-toolkit / ComfyUI write them under `diffusion_model.`
 * and kohya-style trainers under `lora_unet_`) vs diffusers (`transformer_blocks`, `single_transformer_blocks`).
 * From diffusers' transformer_flux2.py @0047da10 (Flux2Transformer2DModel: 8 double + 48 single blocks, 48 heads × 128 =
 * 6144 wide, MLP ratio 3 with a SwiGLU input of 2 × 3 × hidden rows; no per-block modulation: one shared
 * `double_stream_modulation_img/txt` and `single_stream_modulation`) and its `_convert_non_diffusers_flux2_lora_to_diffusers`
 * (read from a copy of that function: no huggingface/diffusers lora_conversion_utils.py with it is stored): `img_attn.qkv` =
 * `attn.to_q | to_k | to_v` in equal thirds, `img_mlp.0` = `ff.linear_in`, `img_mlp.2` = `ff.linear_out`, and in the
 * single blocks `linear1` = `attn.to_qkv_mlp_proj`, `linear2` = `attn.to_out` (one module in both namings, not split).
 * Modules outside the blocks are not mapped (that converter converts block modules only).
 */
import { blockCount, blocksEvidence, has, kohyaBaseModel, modelspecArchitecture, withHidden } from './evidence';
import { FLUX_NAMES } from './flux';
import { STREAM_CHART_STAGES, streamBlocks } from './stream-blocks';
import { FamilySpec, TransformerLayerInfo, TransformerNames } from './types';

const [FLUX1_DOUBLE] = FLUX_NAMES.blocks;

const NAMES: TransformerNames = {
  blocks: [
    {
      // Flux.1's double-stream attention (fused qkv, the two output projections); its own MLP, no modulation.
      ...FLUX1_DOUBLE,
      renames: {
        'attn.to_out.0': FLUX1_DOUBLE.renames['attn.to_out.0'],
        'attn.to_add_out': FLUX1_DOUBLE.renames['attn.to_add_out'],
        'ff.linear_in': 'img_mlp.0',
        'ff.linear_out': 'img_mlp.2',
        'ff_context.linear_in': 'txt_mlp.0',
        'ff_context.linear_out': 'txt_mlp.2',
      },
    },
    {
      diffusers: 'single_transformer_blocks',
      native: 'single_blocks',
      renames: { 'attn.to_qkv_mlp_proj': 'linear1', 'attn.to_out': 'linear2' },
    },
  ],
  globals: {},
};

/**
 * Shapes only Flux.2's blocks have, whatever the width: its single-stream `linear1` is 9 × hidden rows (q, k, v and a
 * SwiGLU input of 2 × 3 × hidden; Flux.1's is 7 ×) and its double-stream MLP input 6 × hidden (Flux.1's 4 ×).
 */
function flux2Shapes(layers: readonly TransformerLayerInfo[]): string | undefined {
  const ratio = (pattern: RegExp, times: number) => layers.find((l) => pattern.test(l.path) && l.outFeatures === times * l.inFeatures);
  const linear1 = ratio(/^single_blocks\.\d+\.linear1$|^single_transformer_blocks\.\d+\.attn\.to_qkv_mlp_proj$/, 9);
  if (linear1) return `${linear1.path} is ${linear1.outFeatures}×${linear1.inFeatures}: 9 × hidden rows (Flux.2; Flux.1's linear1 is 7 ×)`;
  const mlp = ratio(/^double_blocks\.\d+\.(img|txt)_mlp\.0$|^transformer_blocks\.\d+\.ff(_context)?\.linear_in$/, 6);
  if (mlp) return `${mlp.path} is ${mlp.outFeatures}×${mlp.inFeatures}: 6 × hidden rows (Flux.2's SwiGLU MLP; Flux.1's is 4 ×)`;
  return undefined;
}

export const FLUX2: FamilySpec<'flux2'> = {
  id: 'flux2',
  label: 'Flux.2',
  // Before Flux.1's rules, whose /flux/ also matches a value naming Flux.2.
  metadata: [modelspecArchitecture(0.7, /flux[-_. ]?2/i), kohyaBaseModel(0.8, /flux[-_. ]?2/i)],
  recognisers: [
    {
      // Before HunyuanVideo's (140), which takes more single-stream blocks than Flux.1's 38 as its own.
      order: 135,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const doubleOnly = has(transformer, /^transformer_blocks\.\d+\.ff(_context)?\.linear_(in|out)$/) ? [blocksEvidence(blockCount(transformer, 'transformer_blocks'), 'transformer_blocks')] : undefined;
        const counts = streamBlocks(transformer)?.counts ?? doubleOnly;
        if (!counts) return undefined;
        const shapes = flux2Shapes(transformer);
        if (!shapes && hidden !== 6144) return undefined;
        const label = hidden === 6144 ? 'Flux.2 [dev]' : 'Flux.2';
        const evidence = [`Flux single/double-stream transformer blocks: ${counts.join(', ')}`, shapes ?? 'width 6144 (Flux.2 [dev]; Flux.1 and Chroma are 3072 wide)'];
        return { label, evidence: withHidden(evidence, hidden) };
      },
    },
  ],
  compoundIdentifiers: ['linear_in', 'linear_out', 'to_qkv_mlp_proj', 'ff_context', 'add_q_proj', 'add_k_proj', 'add_v_proj', 'to_add_out', 'img_attn', 'txt_attn', 'img_mlp', 'txt_mlp'],
  names: NAMES,
  chartStages: STREAM_CHART_STAGES,
};
