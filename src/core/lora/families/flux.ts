/**
 * Flux.1 (dev, schnell, Kontext, Krea): BFL names (`double_blocks`, `single_blocks`) vs diffusers
 * (`transformer_blocks`, `single_transformer_blocks`). From the Flux conversion maps of diffusers
 * (convert_flux_to_diffusers) and ComfyUI (utils.flux_to_diffusers). diffusers `norm_out.linear` is BFL
 * `final_layer.adaLN_modulation.1` with its scale and shift halves swapped (swappedGlobals: never paired by name).
 * 19 double + 38 single blocks, 3072 wide (diffusers' config); single-stream MLP 4 × hidden (mlp_ratio 4).
 * Text encoders: CLIP-L and T5, which sd-scripts writes as `lora_te1_` and `lora_te3_` (early versions `lora_te2_`)
 * and diffusers calls `text_encoder` / `text_encoder_2`.
 */
import { jointDiffusersBlocks, kohyaBaseModel, modelspecArchitecture, withHidden } from './evidence';
import { STREAM_CHART_STAGES, streamBlocks } from './stream-blocks';
import { FamilySpec, TransformerLayerInfo, TransformerNames, Verdict } from './types';

/**
 * The BFL module an XLabs double-block factor belongs to (as diffusers' and ComfyUI's XLabs converters map it);
 * other XLabs processors keep their own name, so they pair only with XLabs files.
 */
function xlabsModule(blocks: string, index: string, projection: string, stream: string): string {
  if (blocks === 'double_blocks' && stream) return `${blocks}.${index}.${stream === '1' ? 'img' : 'txt'}_attn.${projection}`;
  return `${blocks}.${index}.processor.${projection}_lora${stream}`;
}

/** Modules Flux.1 has and Chroma (same blocks, modulation from its distilled_guidance_layer) does not: per-block modulation, time / vector / guidance inputs, the final norm's. */
const FLUX1_ONLY = /^(double_blocks\.\d+\.(img|txt)_mod\.lin|single_blocks\.\d+\.modulation\.lin|transformer_blocks\.\d+\.norm1(_context)?\.linear|single_transformer_blocks\.\d+\.norm\.linear|time_in|vector_in|guidance_in|time_text_embed|final_layer\.adaLN_modulation|norm_out\.linear)\b/;

/**
 * Flux.1, where the file has a module only Flux.1 has; otherwise its layers fit Chroma as well (same names and shapes),
 * and the verdict says so: such a file is not refused beside a Chroma LoRA.
 */
function flux1OrChroma(transformer: readonly TransformerLayerInfo[], evidence: string[], label: string): Verdict {
  const own = transformer.find((l) => FLUX1_ONLY.test(l.path));
  if (own) return { label, evidence: [...evidence, `${own.path}: a modulation / guidance layer Flux.1 has and Chroma does not`] };
  const why = 'no modulation or guidance layer (img_mod / modulation.lin / norm1.linear / time_in…), which Flux.1 has and Chroma lacks: the layers alone cannot tell Flux.1 from Chroma';
  return { label: label.replace('Flux', 'Flux.1 or Chroma'), evidence: [...evidence, why], alsoFits: ['chroma'] };
}

const BFL_PATHS = /^(double_blocks|single_blocks|img_in|txt_in|time_in|vector_in|guidance_in|final_layer)\b/;

/** A weight of a full Flux transformer in BFL naming (made once: tested on every name of a checkpoint). */
const BFL_CHECKPOINT_NAME = /^(double_blocks|single_blocks)\.\d+\..*\.weight$/;

export const FLUX_NAMES: TransformerNames = {
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

export const FLUX: FamilySpec<'flux'> = {
  id: 'flux',
  label: 'Flux',
  metadata: [kohyaBaseModel(4, /flux/i), modelspecArchitecture(8, /flux/i)],
  recognisers: [
    {
      order: 141,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const streams = streamBlocks(transformer);
        return streams && flux1OrChroma(transformer, withHidden([`Flux single/double-stream transformer blocks: ${streams.counts.join(', ')}`], hidden), 'Flux');
      },
    },
    {
      order: 172,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        const joint = jointDiffusersBlocks(transformer);
        if (!joint || hidden !== 3072) return undefined;
        return flux1OrChroma(transformer, withHidden([joint.evidence, 'width 3072 (Flux; SD3 is 1536 or 2432 wide)'], hidden), 'Flux (double-stream blocks only)');
      },
    },
    {
      order: 300,
      reads: 'file',
      recognise: ({ t5Component }) =>
        t5Component === 'text_encoder_2' ? { label: 'Flux (text encoders only)', evidence: ['a T5 text encoder as the second encoder (diffusers text_encoder_2 / early sd-scripts lora_te2_): Flux'] } : undefined,
    },
  ],
  compoundIdentifiers: [
    'transformer_blocks', 'single_transformer_blocks', 'double_blocks', 'single_blocks', 'proj_mlp', 'to_add_out',
    'add_q_proj', 'add_k_proj', 'add_v_proj', 'ff_context', 'norm1_context', 'norm_out', 'norm_added_q', 'norm_added_k',
    'img_attn', 'txt_attn', 'img_mlp', 'txt_mlp', 'img_mod', 'txt_mod', 'final_layer', 'adaLN_modulation',
    'x_embedder', 'context_embedder', 'time_text_embed', 'timestep_embedder', 'guidance_embedder', 'text_embedder',
    'img_in', 'txt_in', 'time_in', 'vector_in', 'guidance_in', 'in_layer', 'out_layer',
  ],
  nativePaths: BFL_PATHS,
  diffusersPaths: /^(transformer_blocks|single_transformer_blocks|time_text_embed|proj_out|norm_out)\b/,
  transformerPaths: /^(transformer_blocks|single_transformer_blocks|x_embedder|context_embedder|time_text_embed|norm_out|proj_out)\b/,
  barePaths: [
    { component: 'transformer', pattern: /^(transformer_blocks|single_transformer_blocks|x_embedder|context_embedder|time_text_embed)\./ },
    { component: 'transformer', pattern: BFL_PATHS },
  ],
  names: FLUX_NAMES,
  mlpRatio: 4,
  chartStages: STREAM_CHART_STAGES,
  fileLooks: [{ order: 7, test: (names) => names.some((n) => BFL_CHECKPOINT_NAME.test(n)), looksLike: 'a full Flux transformer checkpoint' }],
  factorNamings: [
    {
      // XLabs Flux LoRAs: `double_blocks.0.processor.qkv_lora1.down.weight` (lora1 = image stream, lora2 = text stream).
      scheme: 'xlabs',
      name: 'XLabs Flux (processor.qkv_lora1 / proj_lora2 down / up)',
      pattern: /^(double_blocks|single_blocks)\.(\d+)\.processor\.(qkv|proj)_lora([12]?)\.(down|up)\.weight$/,
      factor: (m) => ({ module: xlabsModule(m[1], m[2], m[3], m[4]), part: m[5] as 'down' | 'up' }),
    },
  ],
  adapters: [
    {
      // Flux Control LoRAs (diffusers _convert_bfl_flux_control_lora_to_diffusers, ComfyUI convert_lora_bfl_control).
      kind: 'flux-control',
      pattern: /^(.+)\.(query_norm|key_norm)\.scale$/,
      name: 'a Flux Control LoRA (BFL Canny/Depth style: LoRA pairs plus full tensors — lora_B.bias, query/key norm scales, an img_in widened to the control channels)',
      advice: 'it changes the model (wider img_in, set norm weights) rather than adding a B·A update: load it as a Control LoRA beside the merged LoRA (diffusers FluxControlPipeline, ComfyUI LoraLoaderModelOnly) instead of merging it',
      includesBiases: true,
    },
  ],
  kohyaTextEncoderPrefixes: { text_encoder: 'lora_te1_', text_encoder_2: 'lora_te3_' },
  componentAliases: { text_encoder_3: 'text_encoder_2' },
};
