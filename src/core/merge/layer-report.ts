/**
 * The per-layer report of an N-way merge (docs/merge-method.md §2, §6): every input's fidelity for ZipLoRA and for
 * the direct merge, every pair's column overlap before and after, coefficient sparsity per input, and the size
 * of the merged update — all from thin factors, in O(inputs² × columns).
 */
import type { LambdaPoint, LayerMeasures, MergedLayerResult } from './batch-measures';
import { DEFAULT_SPARSITY_THRESHOLD, inputPairs, SolverName, StopReason } from './types';

/** Two inputs' columns in one layer; a and b are 0-based indices into the request's inputs. */
export interface PairOverlap {
  readonly a: number;
  readonly b: number;
  /** mean_j |cos(c_a,j, c_b,j)| between the two inputs' columns (paper Fig. 3b). */
  readonly meanAbsCosine: number;
  /** Σ_j |⟨c_a,j, c_b,j⟩| / Σ_j ‖c_a,j‖‖c_b,j‖: the coefficient-aware overlap at m = 1 … */
  readonly overlapBefore: number;
  /** … and with the learned coefficients: Σ_j |m_a,j·m_b,j|·|⟨c_a,j, c_b,j⟩| / Σ_j ‖c_a,j‖‖c_b,j‖. */
  readonly overlapAfter: number;
}

/** How a layer was written: ZipLoRA, the direct merge (m = 1), or copied from its one input. */
export type LayerMethod = 'zip' | 'direct' | 'copy';

export interface LayerReport {
  readonly module: string;
  /** Number of coefficients per input (input features, or output features with `columns: output`). */
  readonly columns: number;
  readonly method: LayerMethod;
  /** 0-based indices (into the request's inputs) of the inputs present in this layer, in order. */
  readonly inputs: readonly number[];
  /** Effective weight per present input (strength × block weight), already folded into its scale. */
  readonly weights: readonly number[];
  /** Per present input: the relative fidelity error of the merge (docs/merge-method.md §2) … */
  readonly errors: readonly number[];
  /** … and of the direct merge (m = 1, the sum of the weighted deltas). */
  readonly directErrors: readonly number[];
  /** Per present input: the share of its coefficients below the sparsity threshold. */
  readonly sparsity: readonly number[];
  /** Every pair of present inputs. */
  readonly pairs: readonly PairOverlap[];
  /** ‖ΔW_merged‖_F / ‖ΔW_direct‖_F: far below 1 means the merge collapsed. */
  readonly normRatio: number;
  /** Adam steps, or Newton iterations, taken for this layer. */
  readonly steps: number;
  /** Final value of the objective (fidelity terms + penalty). */
  readonly loss: number;
  /** The λ used (with `auto`, the one chosen for this layer) … */
  readonly lambda: number;
  /** … and with `auto`, the layer's path: Σ errors and the pooled overlap after, per λ. */
  readonly lambdaCurve?: readonly LambdaPoint[];
  /** How a merge solved the layer (absent in reports of given coefficients): the solver, … */
  readonly solver?: SolverName;
  /** … the gradient-equivalents it used (gradients + Hessian-vector products, each 2·R²·in multiply-adds), … */
  readonly evaluations?: number;
  /** … ‖P(m − ∇L) − m‖₂ at the result (0 at the box-constrained optimum), and whether it met its tolerance. */
  readonly projectedGradientNorm?: number;
  readonly converged?: boolean;
  /** … the certificate at the result (L(m) − L* ≤ gap, optimality-gap.ts), and why the solve ended. */
  readonly gap?: number;
  readonly stop?: StopReason;
}

export { DEFAULT_SPARSITY_THRESHOLD };

/** One pair's cosine and overlaps from its column forms (the backend's here; the float64 reference's in tests). */
export function pairOverlap(inner: ArrayLike<number>, squaresA: ArrayLike<number>, squaresB: ArrayLike<number>, mA: ArrayLike<number>, mB: ArrayLike<number>): Omit<PairOverlap, 'a' | 'b'> {
  let cosineSum = 0;
  let cosineCount = 0;
  let before = 0;
  let after = 0;
  let normProducts = 0;
  for (let j = 0; j < inner.length; j++) {
    const product = Math.sqrt(Math.max(0, squaresA[j]) * Math.max(0, squaresB[j]));
    // Columns where either side is zero have no cosine; they are left out of the mean.
    if (product > 0) {
      cosineSum += Math.min(1, Math.abs(inner[j]) / product);
      cosineCount++;
    }
    before += Math.abs(inner[j]);
    after += Math.abs(mA[j] * mB[j] * inner[j]);
    normProducts += product;
  }
  return {
    meanAbsCosine: cosineCount ? cosineSum / cosineCount : 0,
    overlapBefore: normProducts > 0 ? before / normProducts : 0,
    overlapAfter: normProducts > 0 ? after / normProducts : 0,
  };
}

/** The share of coefficients below `threshold`. */
export function sparsityOf(m: ArrayLike<number>, threshold: number): number {
  let off = 0;
  for (let j = 0; j < m.length; j++) if (m[j] < threshold) off++;
  return m.length ? off / m.length : 0;
}

type ColumnForms = Pick<LayerMeasures, 'm' | 'columnSquares' | 'columnInner'>;

/** ‖ΔW_m‖ / ‖ΔW_direct‖ with ‖ΔW_m‖² = Σ_j ‖Σ_i m_i,j·c_i,j‖², expanded over squares and pair products. */
export function normRatio(forms: { readonly m: readonly ArrayLike<number>[]; readonly columnSquares: readonly ArrayLike<number>[]; readonly columnInner: readonly ArrayLike<number>[] }): number {
  const pairs = inputPairs(forms.m.length);
  let merged = 0;
  let direct = 0;
  const n = forms.m[0].length;
  for (let j = 0; j < n; j++) {
    forms.m.forEach((m, i) => {
      merged += m[j] ** 2 * forms.columnSquares[i][j];
      direct += forms.columnSquares[i][j];
    });
    pairs.forEach(([i, k], p) => {
      merged += 2 * forms.m[i][j] * forms.m[k][j] * forms.columnInner[p][j];
      direct += 2 * forms.columnInner[p][j];
    });
  }
  return direct > 0 ? Math.sqrt(Math.max(0, merged) / direct) : 0;
}

/**
 * The overlap left over all pairs together: Σ_pairs Σ_j |m_i,j·m_k,j·⟨c_i,j, c_k,j⟩| / Σ_pairs Σ_j ‖c_i,j‖‖c_k,j‖
 * (with two inputs, the pair's overlapAfter). The λ path records it per point.
 */
export function pooledOverlap(forms: ColumnForms): number {
  let after = 0;
  let normProducts = 0;
  inputPairs(forms.m.length).forEach(([i, k], p) => {
    const inner = forms.columnInner[p];
    for (let j = 0; j < inner.length; j++) {
      after += Math.abs(forms.m[i][j] * forms.m[k][j] * inner[j]);
      normProducts += Math.sqrt(Math.max(0, forms.columnSquares[i][j]) * Math.max(0, forms.columnSquares[k][j]));
    }
  });
  return normProducts > 0 ? after / normProducts : 0;
}

export interface ReportOptions {
  /** Request indices of the layer's inputs (default 0 … N − 1). */
  readonly inputs?: readonly number[];
  /** Effective weight per input (default 1 each); reported, already folded into the deltas. */
  readonly weights?: readonly number[];
  /** Default `zip`. */
  readonly method?: Exclude<LayerMethod, 'copy'>;
  readonly sparsityThreshold?: number;
}

/** The report of a layer solved on a compute backend (see ziplora-solver.ts), in O(inputs² × columns). */
export function reportFromResult(module: string, result: MergedLayerResult, options: ReportOptions = {}): LayerReport {
  const N = result.m.length;
  const inputs = options.inputs ?? Array.from({ length: N }, (_, i) => i);
  if (inputs.length !== N) throw new Error(`reportFromResult: ${inputs.length} input indices for a layer of ${N} inputs`);
  const threshold = options.sparsityThreshold ?? DEFAULT_SPARSITY_THRESHOLD;
  const pairs = inputPairs(N).map(([i, k], p) => ({
    a: inputs[i],
    b: inputs[k],
    ...pairOverlap(result.columnInner[p], result.columnSquares[i], result.columnSquares[k], result.m[i], result.m[k]),
  }));
  return {
    module,
    columns: result.m[0].length,
    method: options.method ?? 'zip',
    inputs: [...inputs],
    weights: options.weights ? [...options.weights] : new Array<number>(N).fill(1),
    errors: [...result.errors],
    directErrors: [...result.directErrors],
    sparsity: result.m.map((m) => sparsityOf(m, threshold)),
    pairs,
    normRatio: normRatio(result),
    steps: result.iterations,
    loss: result.losses[result.losses.length - 1],
    lambda: result.lambda,
    ...(result.lambdaCurve ? { lambdaCurve: result.lambdaCurve } : {}),
    solver: result.solver,
    evaluations: result.evaluations,
    projectedGradientNorm: result.projectedGradientNorm,
    converged: result.converged,
    ...(result.gap !== undefined ? { gap: result.gap } : {}),
    ...(result.stop !== undefined ? { stop: result.stop } : {}),
  };
}
