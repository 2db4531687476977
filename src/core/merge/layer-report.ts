/**
 * The per-layer report of a merge (docs/merge-method.md §2, §6): fidelity of ZipLoRA and of the direct merge, column overlap
 * before and after, coefficient sparsity, and the size of the merged update — all from thin factors.
 */
import type { LayerResult } from './ziplora-solver';
import { DEFAULT_SPARSITY_THRESHOLD, SolverName } from './types';

export interface LayerReport {
  readonly module: string;
  /** Number of coefficients per LoRA (input features, or output features with `columns: output`). */
  readonly columns: number;
  readonly contentError: number;
  readonly styleError: number;
  readonly directContentError: number;
  readonly directStyleError: number;
  /** mean_j |cos(c_j, s_j)| between the two LoRAs' columns (paper Fig. 3b). */
  readonly meanAbsCosine: number;
  /** Σ_j |⟨c_j, s_j⟩| / Σ_j ‖c_j‖‖s_j‖: the coefficient-aware overlap at m = 1 … */
  readonly overlapBefore: number;
  /** … and with the learned coefficients: Σ_j |m_c,j·m_s,j|·|⟨c_j, s_j⟩| / Σ_j ‖c_j‖‖s_j‖. */
  readonly overlapAfter: number;
  /** Fraction of coefficients below the sparsity threshold. */
  readonly sparsityContent: number;
  readonly sparsityStyle: number;
  /** Columns where exactly one of the two coefficients is active, both are, neither is (fractions). */
  readonly zipped: number;
  readonly bothOn: number;
  readonly bothOff: number;
  /** ‖ΔW_merged‖_F / ‖ΔW_direct‖_F: far below 1 means the merge collapsed. */
  readonly normRatio: number;
  /** Adam steps, or Newton iterations, taken for this layer. */
  readonly steps: number;
  /** Final value of the objective (fidelity terms + penalty). */
  readonly loss: number;
  /** How a merge solved the layer (absent in reports of given coefficients): the solver, … */
  readonly solver?: SolverName;
  /** … the gradient-equivalents it used (gradients + Hessian-vector products, each 2·R²·in multiply-adds), … */
  readonly evaluations?: number;
  /** … ‖P(m − ∇L) − m‖₂ at the result (0 at the box-constrained optimum), and whether it met its tolerance. */
  readonly projectedGradientNorm?: number;
  readonly converged?: boolean;
}

export { DEFAULT_SPARSITY_THRESHOLD };

/** Column-level sums of a report (the backend results here; the float64 reference in test/support). */
export function columnSummary(
  inner: ArrayLike<number>,
  contentSquares: ArrayLike<number>,
  styleSquares: ArrayLike<number>,
  mContent: ArrayLike<number>,
  mStyle: ArrayLike<number>,
  directWeights: readonly [number, number],
  threshold: number,
) {
  const n = inner.length;
  const [wc, ws] = directWeights;
  let cosineSum = 0;
  let cosineCount = 0;
  let overlapBefore = 0;
  let overlapAfter = 0;
  let normProducts = 0;
  let mergedNorm = 0;
  let directNorm = 0;
  let offContent = 0;
  let offStyle = 0;
  let zipped = 0;
  let bothOn = 0;
  for (let j = 0; j < n; j++) {
    const product = Math.sqrt(Math.max(0, contentSquares[j]) * Math.max(0, styleSquares[j]));
    if (product > 0) {
      cosineSum += Math.min(1, Math.abs(inner[j]) / product);
      cosineCount++;
    }
    overlapBefore += Math.abs(inner[j]);
    overlapAfter += Math.abs(mContent[j] * mStyle[j] * inner[j]);
    normProducts += product;
    // ‖ΔW_m‖² = Σ_j ‖m_c,j·c_j + m_s,j·s_j‖², expanded.
    mergedNorm += mContent[j] ** 2 * contentSquares[j] + 2 * mContent[j] * mStyle[j] * inner[j] + mStyle[j] ** 2 * styleSquares[j];
    directNorm += wc * wc * contentSquares[j] + 2 * wc * ws * inner[j] + ws * ws * styleSquares[j];
    const contentOn = mContent[j] >= threshold;
    const styleOn = mStyle[j] >= threshold;
    if (!contentOn) offContent++;
    if (!styleOn) offStyle++;
    if (contentOn && styleOn) bothOn++;
    else if (contentOn || styleOn) zipped++;
  }
  return {
    meanAbsCosine: cosineCount ? cosineSum / cosineCount : 0,
    overlapBefore: normProducts > 0 ? overlapBefore / normProducts : 0,
    overlapAfter: normProducts > 0 ? overlapAfter / normProducts : 0,
    sparsityContent: offContent / n,
    sparsityStyle: offStyle / n,
    zipped: zipped / n,
    bothOn: bothOn / n,
    bothOff: (n - zipped - bothOn) / n,
    normRatio: directNorm > 0 ? Math.sqrt(Math.max(0, mergedNorm) / directNorm) : 0,
  };
}

/** The report of a layer solved on a compute backend (see ziplora-solver.ts), in O(columns). */
export function reportFromResult(
  module: string,
  result: LayerResult,
  options: { directWeights?: readonly [number, number]; sparsityThreshold?: number },
): LayerReport {
  const summary = columnSummary(
    result.columnInner,
    result.columnContentSquares,
    result.columnStyleSquares,
    result.mContent,
    result.mStyle,
    options.directWeights ?? [1, 1],
    options.sparsityThreshold ?? DEFAULT_SPARSITY_THRESHOLD,
  );
  return {
    module,
    columns: result.mContent.length,
    contentError: result.contentError,
    styleError: result.styleError,
    directContentError: result.directContentError,
    directStyleError: result.directStyleError,
    ...summary,
    steps: result.iterations,
    loss: result.losses[result.losses.length - 1],
    solver: result.solver,
    evaluations: result.evaluations,
    projectedGradientNorm: result.projectedGradientNorm,
    converged: result.converged,
  };
}
