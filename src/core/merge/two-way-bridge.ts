/**
 * TEMPORARY: the two-way (content, style) shapes of the solver's input, settings, result and per-layer report,
 * on top of the N-way solver, so that the merge pipeline, its writers and its reports keep working unchanged
 * until they move to the N-way types (inputs as a list, per-input weights). With two inputs the N-way solver
 * computes exactly what the two-way one did, so the outputs are the same. Remove this file when nothing
 * imports it.
 */
import { ComputeBackend } from './backends';
import { DEFAULT_SPARSITY_THRESHOLD } from './layer-report';
import { FactoredDelta, SolverName } from './types';
import { BatchSettings, solveBatch } from './ziplora-solver';

/** One layer's problem: the content and the style factors, oriented for the chosen columns. */
export interface TwoWayLayerInput {
  readonly content: FactoredDelta;
  readonly style: FactoredDelta;
}

export interface TwoWayBatchSettings extends Omit<BatchSettings, 'lambda' | 'start' | 'directWeights'> {
  readonly lambda: number;
  /** Starting coefficients (1, 1 for ZipLoRA; the direct merge is 0 steps from its weights). */
  readonly start: readonly [number, number];
  /** Weights of the direct merge the result is compared with. */
  readonly directWeights: readonly [number, number];
}

/** The two-way solved layer: the N-way LayerResult's arrays under their content/style names. */
export interface TwoWayLayerResult {
  readonly mContent: Float32Array;
  readonly mStyle: Float32Array;
  readonly losses: Float32Array;
  readonly contentError: number;
  readonly styleError: number;
  readonly directContentError: number;
  readonly directStyleError: number;
  readonly columnInner: Float32Array;
  readonly columnContentSquares: Float32Array;
  readonly columnStyleSquares: Float32Array;
  readonly solver: SolverName;
  readonly iterations: number;
  readonly evaluations: number;
  readonly projectedGradientNorm: number;
  readonly converged: boolean;
}

export async function solveTwoWayBatch(backend: ComputeBackend, layers: readonly TwoWayLayerInput[], settings: TwoWayBatchSettings, onSteps: (step: number) => Promise<void>): Promise<TwoWayLayerResult[]> {
  const results = await solveBatch(
    backend,
    layers.map((l) => ({ inputs: [l.content, l.style] })),
    settings,
    onSteps,
  );
  return results.map((r) => ({
    mContent: r.m[0],
    mStyle: r.m[1],
    losses: r.losses,
    contentError: r.errors[0],
    styleError: r.errors[1],
    directContentError: r.directErrors[0],
    directStyleError: r.directErrors[1],
    columnInner: r.columnInner[0],
    columnContentSquares: r.columnSquares[0],
    columnStyleSquares: r.columnSquares[1],
    solver: r.solver,
    iterations: r.iterations,
    evaluations: r.evaluations,
    projectedGradientNorm: r.projectedGradientNorm,
    converged: r.converged,
  }));
}

/** The two-way per-layer report (sidecar format 1). */
export interface TwoWayLayerReport {
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
  readonly solver?: SolverName;
  readonly evaluations?: number;
  readonly projectedGradientNorm?: number;
  readonly converged?: boolean;
}

/** Column-level sums of a two-way report (the backend results here; the float64 reference in test/support). */
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

/** The two-way report of a layer solved on a compute backend, in O(columns). */
export function twoWayReportFromResult(
  module: string,
  result: TwoWayLayerResult,
  options: { directWeights?: readonly [number, number]; sparsityThreshold?: number },
): TwoWayLayerReport {
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
