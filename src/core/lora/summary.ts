/** The serialisable LoRA part of `inspect`: what the file is, and per-layer measures when it is a LoRA. */
import { SafetensorsFile } from '../safetensors/reader';
import { readLayerFactors } from './factors';
import { LayerProblem } from './layer';
import { layerGrams, layerStatistics, NonFiniteFactorError } from './layer-stats';
import { describeAdapter, LoraDescription } from './recognise';
import { adviceFor } from './tensor-names';

export interface LoraLayerSummary {
  readonly module: string;
  readonly kind: 'linear' | 'conv';
  /** Kernel size, for conv layers. */
  readonly kernel?: readonly [number, number];
  readonly in: number;
  readonly out: number;
  readonly rank: number;
  readonly alpha: number | null;
  readonly scale: number;
  /** ‖ΔW‖_F; null when the factors hold NaN/Inf (see problems). */
  readonly norm: number | null;
  readonly effectiveRank: number | null;
  readonly rankFor90PercentEnergy: number | null;
  readonly singularValues: readonly number[];
  /** Original tensor names. */
  readonly tensors: { readonly down: string; readonly up: string; readonly alpha?: string };
}

export interface LoraSummary {
  readonly format: string;
  readonly scheme: string;
  /** `release` and `expert` where the metadata, the file name or the shapes tell them (base-model.ts). */
  readonly baseModel: { readonly family: string; readonly label: string; readonly evidence: readonly string[]; readonly release?: string; readonly expert?: string };
  readonly adapterConfig?: string;
  readonly ranks: readonly number[];
  readonly alphas: readonly (number | null)[];
  readonly scales: readonly number[];
  /** How the scale was found, per distinct rule (e.g. "alpha 16 / rank 32"). */
  readonly scaleSources: readonly string[];
  readonly extraTensors: readonly string[];
  readonly problems: readonly LayerProblem[];
  readonly layers: readonly LoraLayerSummary[];
}

export interface AdapterSummary {
  /** What the file is, in words: "LoRA, kohya (…)" or what it looks like instead. */
  readonly kind: string;
  /** For an adapter a merge refuses (LoKr, DoRA, a Control LoRA…): what a user can do instead. */
  readonly advice?: string;
  readonly lora: LoraSummary | null;
}

const distinct = <T>(values: readonly T[]): T[] => [...new Set(values)];

export async function summarizeAdapter(file: SafetensorsFile, onLayer?: (done: number, total: number) => void): Promise<AdapterSummary> {
  const description = await describeAdapter(file);
  if (description.kind === 'not-lora') {
    const advice = adviceFor(description.adapters);
    return { kind: description.looksLike, ...(advice ? { advice } : {}), lora: null };
  }
  const problems = [...description.problems];
  const layers: LoraLayerSummary[] = [];
  for (const [index, layer] of description.layers.entries()) {
    let measures: Pick<LoraLayerSummary, 'norm' | 'effectiveRank' | 'rankFor90PercentEnergy' | 'singularValues'>;
    try {
      const stats = layerStatistics(layerGrams(layer, await readLayerFactors(file, layer), true));
      measures = { norm: stats.norm, effectiveRank: stats.effectiveRank, rankFor90PercentEnergy: stats.rankFor90PercentEnergy, singularValues: stats.singularValues };
    } catch (error) {
      if (!(error instanceof NonFiniteFactorError)) throw error;
      problems.push({ module: layer.module, problem: `tensor "${error.tensorName}" holds NaN or infinite values` });
      measures = { norm: null, effectiveRank: null, rankFor90PercentEnergy: null, singularValues: [] };
    }
    layers.push({
      module: layer.module,
      kind: layer.kind,
      ...(layer.kind === 'conv' ? { kernel: layer.kernel } : {}),
      in: layer.inFeatures,
      out: layer.outFeatures,
      rank: layer.rank,
      alpha: layer.alpha,
      scale: layer.scale,
      ...measures,
      tensors: { down: layer.down.name, up: layer.up.name, ...(layer.alphaTensor ? { alpha: layer.alphaTensor.name } : {}) },
    });
    onLayer?.(index + 1, description.layers.length);
  }
  return { kind: `LoRA, ${description.formatName}`, lora: { ...loraHeaderSummary(description), problems, layers } };
}

/** The part of a LoRA's summary that needs no tensor data: what the extension host shows at once. */
export function loraHeaderSummary(description: LoraDescription): Omit<LoraSummary, 'layers'> {
  return {
    format: description.formatName,
    scheme: description.scheme,
    baseModel: description.baseModel,
    adapterConfig: description.adapterConfig,
    ranks: distinct(description.layers.map((l) => l.rank)).sort((a, b) => a - b),
    alphas: distinct(description.layers.map((l) => l.alpha)),
    scales: distinct(description.layers.map((l) => l.scale)),
    scaleSources: distinct(description.layers.map((l) => l.scaleSource)),
    extraTensors: description.extraTensors,
    problems: description.problems,
  };
}
