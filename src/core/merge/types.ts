/** The data of one layer's merge problem, independent of file formats and compute backends. */

/**
 * ΔW = scale · B · A with A (down) r × in and B (up) out × r. Both are stored as r contiguous rows, A and Bᵀ
 * (r × out), the layout LayerFactors reads and the Gram kernels want.
 */
export interface FactoredDelta {
  readonly down: Float32Array;
  readonly upTransposed: Float32Array;
  readonly rank: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly scale: number;
}

/** One layer's problem: the content and the style factors, oriented for the chosen columns. */
export interface LayerInput {
  readonly content: FactoredDelta;
  readonly style: FactoredDelta;
}

/** Which features the merger coefficients scale: input features (the paper's columns) or output features. */
export const COLUMN_MODES = ['input', 'output'] as const;
export type ColumnMode = (typeof COLUMN_MODES)[number];

/**
 * How the coefficients are optimised: `newton`, projected Newton-CG run to convergence on the box-constrained
 * quadratic (projected-newton.ts), or `adam`, the paper's recipe (lr, steps, clamp).
 */
export const SOLVERS = ['newton', 'adam'] as const;
export type SolverName = (typeof SOLVERS)[number];

export interface ZipLoraSettings {
  readonly solver: SolverName;
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  readonly columns: ColumnMode;
}

/** A coefficient below this counts as switched off in the reports' sparsity; the one home of the default. */
export const DEFAULT_SPARSITY_THRESHOLD = 0.05;

export const DEFAULT_ZIPLORA_SETTINGS: ZipLoraSettings = { solver: 'newton', steps: 100, lambda: 0.03, learningRate: 0.01, columns: 'input' };

/**
 * With output-feature columns the coefficients scale rows of ΔW; ΔWᵀ = s·Aᵀ·Bᵀ turns that into the
 * input-column problem (A and Bᵀ swap places), so every solver only knows input columns.
 */
export function orientForColumns(delta: FactoredDelta, columns: ColumnMode): FactoredDelta {
  if (columns === 'input') return delta;
  return {
    down: delta.upTransposed,
    upTransposed: delta.down,
    rank: delta.rank,
    inFeatures: delta.outFeatures,
    outFeatures: delta.inFeatures,
    scale: delta.scale,
  };
}
