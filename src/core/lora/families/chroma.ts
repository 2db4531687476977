/**
 * Chroma (lodestones' Flux.1-schnell derivative): Flux.1's double / single-stream blocks, names and shapes (19 + 38,
 * 3072 wide) without their modulation layers (no `img_mod.lin`, `modulation.lin`, `norm1.linear`, nor `time_in`,
 * `vector_in`, `guidance_in`, `final_layer.adaLN_modulation`): every block's shift / scale / gate comes from one
 * approximator, `distilled_guidance_layer` (`in_proj` 64 → 5120, 5 × `layers.N` in_layer / out_layer 5120 → 5120,
 * `out_proj` 5120 → 3072). Sources: diffusers transformer_chroma.py @0191cfde (ChromaApproximator: in_proj,
 * layers.N.linear_1 / linear_2, out_proj; pruned norms without a linear) and ComfyUI comfy/ldm/chroma/model.py @04e411c3 /
 * layers.py @0323d874 (Approximator: in_proj, layers.N = Flux's MLPEmbedder in_layer / out_layer, out_proj; img_in,
 * txt_in, final_layer.linear). kohya sd-scripts writes `modelspec.architecture` "chroma" (library/sai_model_spec.py).
 * A file with only attention / MLP layers fits Flux.1 as well: Flux's recogniser says "Flux.1 or Chroma".
 */
import { has, kohyaBaseModel, modelspecArchitecture, withHidden } from './evidence';
import { FLUX_NAMES } from './flux';
import { STREAM_CHART_STAGES, streamBlocks } from './stream-blocks';
import { FamilySpec, TransformerNames } from './types';

const APPROXIMATOR_LAYERS = 5;

const NAMES: TransformerNames = {
  // Flux.1's blocks less the modulation modules Chroma does not have.
  blocks: FLUX_NAMES.blocks.map((block) => ({ ...block, renames: Object.fromEntries(Object.entries(block.renames).filter(([, native]) => !/mod(ulation)?\.lin$/.test(native))) })),
  globals: {
    x_embedder: 'img_in',
    context_embedder: 'txt_in',
    proj_out: 'final_layer.linear',
    ...Object.fromEntries([...Array(APPROXIMATOR_LAYERS).keys()].flatMap((n) => [
      [`distilled_guidance_layer.layers.${n}.linear_1`, `distilled_guidance_layer.layers.${n}.in_layer`],
      [`distilled_guidance_layer.layers.${n}.linear_2`, `distilled_guidance_layer.layers.${n}.out_layer`],
    ])),
  },
};

const APPROXIMATOR = /^distilled_guidance_layer\b/;

export const CHROMA: FamilySpec<'chroma'> = {
  id: 'chroma',
  label: 'Chroma',
  // Before every Flux rule: a Chroma file may also name Flux in ss_base_model_version.
  metadata: [modelspecArchitecture(0.5, /^chroma/i), kohyaBaseModel(0.6, /chroma/i)],
  recognisers: [
    {
      order: 139,
      reads: 'transformer',
      recognise: ({ transformer, hidden }) => {
        if (!has(transformer, APPROXIMATOR)) return undefined;
        const counts = streamBlocks(transformer)?.counts;
        const streams = counts ? [`Flux-style double/single-stream blocks: ${counts.join(', ')}`] : [];
        return { label: 'Chroma', evidence: withHidden([...streams, 'distilled_guidance_layer (the approximator that stands in for Flux.1\'s modulation layers): Chroma'], hidden) };
      },
    },
  ],
  compoundIdentifiers: ['distilled_guidance_layer', 'in_proj', 'linear_1', 'linear_2', 'in_layer', 'out_layer'],
  nativePaths: APPROXIMATOR,
  transformerPaths: APPROXIMATOR,
  barePaths: [{ component: 'transformer', pattern: APPROXIMATOR }],
  names: NAMES,
  mlpRatio: 4,
  chartStages: { ...STREAM_CHART_STAGES, distilled_guidance_layer: { rank: 0 } },
};
