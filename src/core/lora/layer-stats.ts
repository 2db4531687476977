/**
 * Per-layer measures of ΔW = s·B·A (docs/merge-method.md §6) without forming the out × in matrix: everything goes through
 * the r × r Grams BᵀB and A·Aᵀ, whose cost is r²·(in + out).
 */
import { columnBilinear, columnQuadratic, crossGramRows, frobeniusInner, gramRows, Real } from '../linalg/gram';
import { productSingularValues } from '../linalg/small-dense';
import { summarizeSpectrum, SpectrumSummary } from '../linalg/spectrum';
import { LayerFactors } from './factors';
import { LoraLayer } from './layer';

/** A layer's factors with the Grams every measure starts from. */
export interface LayerGrams {
  readonly layer: LoraLayer;
  readonly factors: LayerFactors;
  /** BᵀB (r × r). */
  readonly upGram: Float64Array;
  /** A·Aᵀ (r × r); only computed when a measure needs it. */
  readonly downGram?: Float64Array;
}

/** Thrown when a factor holds NaN or ±Inf (a Gram diagonal is Σ x², so it is non-finite exactly then). */
export class NonFiniteFactorError extends Error {
  constructor(readonly layer: LoraLayer, readonly tensorName: string) {
    super(`layer "${layer.module}": tensor "${tensorName}" holds NaN or infinite values`);
  }
}

function checkFinite(gram: Float64Array, r: number, layer: LoraLayer, tensorName: string): void {
  for (let i = 0; i < r; i++) if (!Number.isFinite(gram[i * r + i])) throw new NonFiniteFactorError(layer, tensorName);
}

export function layerGrams(layer: LoraLayer, factors: LayerFactors, withDownGram: boolean): LayerGrams {
  const r = layer.rank;
  const upGram = gramRows(factors.upTransposed, r, layer.outFeatures);
  checkFinite(upGram, r, layer, layer.up.name);
  let downGram: Float64Array | undefined;
  if (withDownGram) {
    downGram = gramRows(factors.down, r, layer.columns);
    checkFinite(downGram, r, layer, layer.down.name);
  } else {
    // The column measures read A directly; it must be finite too.
    const down = factors.down;
    for (let i = 0; i < down.length; i++) if (!Number.isFinite(down[i])) throw new NonFiniteFactorError(layer, layer.down.name);
  }
  return { layer, factors, upGram, downGram };
}

export interface LayerStatistics extends SpectrumSummary {
  /** ‖ΔW‖_F = |s|·sqrt(tr(BᵀB · A·Aᵀ)). */
  readonly norm: number;
  /** Singular values of ΔW (scale included), largest first; at most rank many. */
  readonly singularValues: readonly number[];
}

function requireDownGram(grams: LayerGrams): Float64Array {
  if (!grams.downGram) throw new Error(`layer "${grams.layer.module}": the down Gram was not computed`);
  return grams.downGram;
}

/** ‖ΔW‖_F = |s|·sqrt(tr(BᵀB · A·Aᵀ)). */
export function layerNorm(grams: LayerGrams): number {
  return Math.abs(grams.layer.scale) * Math.sqrt(Math.max(frobeniusInner(grams.upGram, requireDownGram(grams)), 0));
}

export function layerStatistics(grams: LayerGrams): LayerStatistics {
  const { layer, upGram } = grams;
  const downGram = requireDownGram(grams);
  const scale = Math.abs(layer.scale);
  const norm = layerNorm(grams);
  const singularValues = productSingularValues(upGram, downGram, layer.rank).map((s) => s * scale);
  return { norm, singularValues, ...summarizeSpectrum(singularValues) };
}

export interface ColumnCosine {
  /** mean_j |cos(c_j, s_j)| over the columns (input features) where both columns are non-zero; null if none are. */
  readonly meanAbsCosine: number | null;
  /** How many columns entered the mean. */
  readonly columnsCompared: number;
  /** ‖ΔW‖_F of each side, as Σ_j ‖c_j‖² comes for free from the column norms. */
  readonly firstNorm: number;
  readonly secondNorm: number;
}

/**
 * Column cosine between two LoRAs of the same layer (docs/merge-method.md §6): with X = B_cᵀB_s,
 * ⟨c_j, s_j⟩ = s_c·s_s·a_cjᵀ·X·a_sj and ‖c_j‖² = s_c²·a_cjᵀ·(B_cᵀB_c)·a_cj. The scales cancel in the cosine.
 */
export function columnCosine(content: LayerGrams, style: LayerGrams): ColumnCosine {
  const n = content.layer.columns;
  if (style.layer.columns !== n || style.layer.outFeatures !== content.layer.outFeatures) {
    throw new Error(`layer "${content.layer.module}": shapes differ, no column cosine`);
  }
  const rc = content.layer.rank;
  const rs = style.layer.rank;
  const cross = crossGramRows(content.factors.upTransposed, rc, style.factors.upTransposed, rs, content.layer.outFeatures);
  const dots = columnBilinear(cross, content.factors.down, rc, style.factors.down, rs, n);
  const contentNorms = columnQuadratic(content.upGram, content.factors.down, rc, n);
  const styleNorms = columnQuadratic(style.upGram, style.factors.down, rs, n);
  return summarizeColumns(dots, contentNorms, styleNorms, content.layer.scale, style.layer.scale);
}

/** The column cosine from the unscaled per-column forms ⟨c_j, s_j⟩, ‖c_j‖² and ‖s_j‖² (any precision). */
export function summarizeColumns(dots: Real, contentNorms: Real, styleNorms: Real, contentScale: number, styleScale: number): ColumnCosine {
  let sum = 0;
  let count = 0;
  let contentEnergy = 0;
  let styleEnergy = 0;
  for (let j = 0; j < dots.length; j++) {
    const c = Math.max(contentNorms[j], 0);
    const s = Math.max(styleNorms[j], 0);
    contentEnergy += c;
    styleEnergy += s;
    const denominator = Math.sqrt(c * s);
    if (denominator > 0) {
      sum += Math.min(Math.abs(dots[j]) / denominator, 1);
      count++;
    }
  }
  return {
    meanAbsCosine: count ? sum / count : null,
    columnsCompared: count,
    firstNorm: Math.abs(contentScale) * Math.sqrt(contentEnergy),
    secondNorm: Math.abs(styleScale) * Math.sqrt(styleEnergy),
  };
}
