/** The data of one layer's merge problem, independent of file formats and compute backends. */
import { transpose } from '../linalg/gram';

/**
 * ΔW = scale · B · A with A (down) r × in and B (up) out × r. A is stored as r contiguous rows; B as read (`up`,
 * out × r) or as Bᵀ (`upTransposed`, r × out, the layout the Gram kernels want), whichever the reader had: a
 * transposed copy is made only where one is needed (upTransposedOf), never to be transposed back for writing.
 */
interface DeltaShape {
  readonly down: Float32Array;
  readonly rank: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly scale: number;
}

export type FactoredDelta = DeltaShape & ({ readonly upTransposed: Float32Array; readonly up?: Float32Array } | { readonly up: Float32Array; readonly upTransposed?: undefined });

/** Bᵀ (r × out): the delta's own, or made from B. */
export function upTransposedOf(delta: FactoredDelta): Float32Array {
  return delta.upTransposed ?? transpose(delta.up!, delta.outFeatures, delta.rank);
}

/** B (out × r): the delta's own, or made from Bᵀ. */
export function upOf(delta: FactoredDelta): Float32Array {
  return delta.up ?? transpose(delta.upTransposed!, delta.rank, delta.outFeatures);
}

/** The fewest and the most inputs one merge takes. */
export const MIN_INPUTS = 2;
export const MAX_INPUTS = 8;

/** Every pair (i, k), i < k, in the order (0,1), (0,2) … (1,2) …: the order of the pair arrays everywhere. */
export function inputPairs(count: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < count; i++) for (let k = i + 1; k < count; k++) pairs.push([i, k]);
  return pairs;
}

/**
 * One layer's problem: the factors of every input that has this layer (2..8), in request order, oriented for
 * the chosen columns and already weighted (an input's strength and block weight are folded into its scale).
 * Every input has the same in and out; ranks may differ.
 */
export interface LayerInput {
  readonly inputs: readonly FactoredDelta[];
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

/**
 * Why a layer's solve ended: its optimality certificate (optimality-gap.ts), Newton's projected-gradient
 * tolerance, the caps (Adam: its steps), or `stalled` (Newton's search found no decrease: float32 has nothing left).
 */
export const STOP_REASONS = ['certificate', 'tolerance', 'cap', 'stalled'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** λ: a penalty weight ≥ 0, or `auto`: chosen per layer along a short path (lambda-path.ts, docs/merge-method.md §4). */
export type LambdaSetting = number | 'auto';

export interface ZipLoraSettings {
  readonly solver: SolverName;
  readonly steps: number;
  readonly lambda: LambdaSetting;
  readonly learningRate: number;
  readonly columns: ColumnMode;
}

/** A coefficient below this counts as switched off in the reports' sparsity; the one home of the default. */
export const DEFAULT_SPARSITY_THRESHOLD = 0.05;

export const DEFAULT_ZIPLORA_SETTINGS = { solver: 'newton', steps: 100, lambda: 0.03, learningRate: 0.01, columns: 'input' } satisfies ZipLoraSettings;

/**
 * With output-feature columns the coefficients scale rows of ΔW; ΔWᵀ = s·Aᵀ·Bᵀ turns that into the
 * input-column problem (A and Bᵀ swap places), so every solver only knows input columns.
 */
export function orientForColumns(delta: FactoredDelta, columns: ColumnMode): FactoredDelta {
  if (columns === 'input') return delta;
  return {
    down: upTransposedOf(delta),
    upTransposed: delta.down,
    rank: delta.rank,
    inFeatures: delta.outFeatures,
    outFeatures: delta.inFeatures,
    scale: delta.scale,
  };
}
