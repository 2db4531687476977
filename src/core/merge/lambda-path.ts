/**
 * λ = `auto` (docs/merge-method.md §4): each layer is solved along a short path of λ values, each solve
 * warm-started from the previous one's coefficients, the whole path within twice one λ's evaluation cap; the
 * merge's total fidelity error Σ_i e_i and its residual overlap are recorded at every point, and per layer the
 * largest λ whose error stays within a quarter of the way from e(0) (the best fidelity the solver found) to the
 * direct merge's error is kept, never one above the direct merge's error. Newton starts at the direct merge and
 * only descends, so e(0) ≤ e_direct and λ = 0 always qualifies; Adam (a large step, few steps) can end every
 * point above it, and then the layer is merged directly (m = 1), so the choice never merges worse than the sum.
 */
import type { LambdaPoint, LayerMeasures, LayerResult } from './batch-measures';
import type { Tensor3D } from './batch-tensors';
import { pooledOverlap } from './layer-report';
import type { NewtonLimits } from './projected-newton';
import type { SolverName } from './types';

/** The path: λ = 0 (fidelity only) up to 0.1; past it the measured merges of §4 lose fidelity fast (Adam: worse than direct at 0.3). */
export const LAMBDA_PATH: readonly number[] = [0, 0.01, 0.03, 0.1];

/** The share of the gap between e(0) and the direct merge's error that a penalty may spend on less overlap. */
export const LAMBDA_ERROR_SHARE = 0.25;

/**
 * The index of the λ chosen on a path (ordered by increasing λ, the first point at λ = 0): the largest λ whose
 * total error ≤ min(e_direct, e(0) + LAMBDA_ERROR_SHARE·(e_direct − e(0))); −1 when none is (e(0) > e_direct,
 * which a descending solver does not produce: the caller then merges the layer directly).
 */
export function chooseLambda(points: readonly Pick<LambdaPoint, 'error'>[], directError: number): number {
  const base = points[0].error;
  const limit = Math.min(directError, base + LAMBDA_ERROR_SHARE * (directError - base));
  let chosen = -1;
  points.forEach((point, k) => {
    if (point.error <= limit) chosen = k;
  });
  return chosen;
}

/** A point's solve along the path. */
export interface PathPointOptions {
  /** Measures of the first point: their parts that do not depend on m (column forms, direct errors) are reused. */
  readonly reuse?: readonly LayerMeasures[];
  /** Newton: each layer's evaluation cap, and the norm its tolerance is relative to. */
  readonly limits?: NewtonLimits;
  /** Adam: the steps of this point. */
  readonly steps?: number;
}

/** One solve of the batch at λ from `start` ([B, N, in], not disposed): what the solver module provides. */
export type SolveAtLambda = (
  lambda: number,
  start: Tensor3D,
  onSteps: (step: number) => Promise<void>,
  options: PathPointOptions,
) => Promise<{ readonly results: Omit<LayerResult, 'lambda'>[]; readonly x: Tensor3D; readonly startNorms?: Float32Array }>;

/**
 * Newton on a warm-started point: the previous point's coefficients are close to this one's, on nearly the same
 * face of the box, so 5 projected-gradient steps per iteration (a cold solve takes 20) and a stop at 10⁻³ of the
 * λ = 0 start's projected gradient (a cold solve: 10⁻⁴ of its own start's) do. Measured on the planted and the
 * real SD1.5 pair, the chosen points' losses are within 0.6 % of cold solves at the same λ
 * (docs/merge-method.md §4); a stop at 10⁻² saves another fifth of the work but leaves some points where they
 * started, which flattens the curve the choice is read from.
 */
const WARM_START = { projectionSteps: 5, tolerance: 1e-3 };

/** The whole path costs at most this many solves at one λ (gradient-equivalents per layer, or Adam steps). */
export const LAMBDA_PATH_COST = 2;

export interface PathBudget {
  readonly solver: SolverName;
  /** A solve at one λ: Newton's evaluation cap per layer, or Adam's steps. */
  readonly budget: number;
  /** The progress total `onSteps` counts towards. */
  readonly progressSteps: number;
}

/**
 * Runs the path for a batch and picks each layer's λ. λ = 0 is solved as a merge at one λ would be; the later
 * points start from the previous point's coefficients (WARM_START) and share what is left of LAMBDA_PATH_COST ×
 * the budget (a layer's unused evaluations carry over), with Newton's tolerance relative to the λ = 0 start — so
 * the path never costs more than twice one λ's cap. The result of a layer is its solve at the chosen λ, with `evaluations` the sum over
 * the whole path (what the layer cost) and `lambdaCurve` every point. Progress (`onSteps`, towards
 * `progressSteps`) is divided evenly among the points.
 */
export async function solveLambdaPath(solveAt: SolveAtLambda, start: Tensor3D, budget: PathBudget, onSteps: (step: number) => Promise<void>): Promise<LayerResult[]> {
  const points: Omit<LayerResult, 'lambda'>[][] = [];
  const count = LAMBDA_PATH.length;
  const total = LAMBDA_PATH_COST * budget.budget;
  let used: number[] = [];
  let referenceNorm: Float32Array | undefined;
  let from = start;
  try {
    for (const [p, lambda] of LAMBDA_PATH.entries()) {
      const onPointSteps = (step: number) => onSteps(Math.floor((p * budget.progressSteps + step) / count));
      const share = (spent: number) => Math.max(1, Math.floor((total - spent) / (count - p)));
      const options: PathPointOptions =
        p === 0
          ? {}
          : budget.solver === 'newton'
            ? { reuse: points[0], limits: { maxEvaluations: used.map(share), referenceNorm, ...WARM_START } }
            : { reuse: points[0], steps: share(used[0]) };
      const solved = await solveAt(lambda, from, onPointSteps, options);
      if (from !== start) from.dispose();
      from = solved.x;
      points.push(solved.results);
      used = solved.results.map((r, b) => (used[b] ?? 0) + r.evaluations);
      referenceNorm ??= solved.startNorms;
    }
  } finally {
    if (from !== start) from.dispose();
  }
  return points[0].map((_, b) => {
    const curve = points.map((results, p) => ({ lambda: LAMBDA_PATH[p], error: sum(results[b].errors), overlap: pooledOverlap(results[b]) }));
    const chosen = chooseLambda(curve, sum(points[0][b].directErrors));
    if (chosen < 0) return directMerge(points[0][b], used[b], curve);
    return { ...points[chosen][b], evaluations: used[b], lambda: LAMBDA_PATH[chosen], lambdaCurve: curve };
  });
}

const sum = (values: readonly number[]) => values.reduce((a, v) => a + v, 0);

/**
 * The layer merged directly, m = 1 (the weights are in the factors' scales), when no point of its path is within
 * the direct merge's error. Every solve starts at m = 1, so the λ = 0 solve's first loss is the objective there;
 * the solver's statistics are that solve's, `evaluations` the whole path's.
 */
function directMerge(first: Omit<LayerResult, 'lambda'>, evaluations: number, curve: LambdaPoint[]): LayerResult {
  return {
    ...first,
    m: first.m.map((m) => new Float32Array(m.length).fill(1)),
    errors: [...first.directErrors],
    losses: Float32Array.of(first.losses[0]),
    iterations: 0,
    converged: false,
    evaluations,
    lambda: 0,
    lambdaCurve: curve,
  };
}

/**
 * A merge's λ curve from its layers' curves (for the sidecar and the λ chart): per λ of the path, the errors
 * summed over layers and the layers' mean overlap (a sum of per-layer overlap shares would grow with the layer
 * count and mean nothing). Layers without a curve (copied, direct, or solved at a fixed λ) are left out.
 */
export function summedLambdaCurve(curves: readonly (readonly LambdaPoint[] | undefined)[]): LambdaPoint[] {
  const present = curves.filter((c): c is readonly LambdaPoint[] => c !== undefined && c.length === LAMBDA_PATH.length);
  if (!present.length) return [];
  return LAMBDA_PATH.map((lambda, p) => ({
    lambda,
    error: sum(present.map((c) => c[p].error)),
    overlap: sum(present.map((c) => c[p].overlap)) / present.length,
  }));
}
