/**
 * ZipLoRA's per-layer optimisation on a tfjs backend (docs/merge-method.md §3), by one of two solvers: projected Newton-CG
 * run to convergence on the box-constrained quadratic (projected-newton.ts, on the fused form box-quadratic.ts),
 * or the paper's recipe, Adam on (m_c, m_s) from the initial coefficients, clamped to [0, 1] after each step.
 * The batch's tensors and the objective's analytic gradient are in batch-tensors.ts (tested against a float64
 * reference of docs/merge-method.md §2), the measures of the result in batch-measures.ts. Layers of equal (in, r_c, r_s) are
 * independent problems and run as one batch. Per gradient (or Hessian product) and layer that is 2·R²·in
 * multiply-adds.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { ComputeBackend } from './backends';
import { LayerMeasures, LayerResult, measureBatch } from './batch-measures';
import { lossAndGradient, PreparedBatch, prepareBatch, Tensor3D } from './batch-tensors';
import { boxQuadratic, BoxQuadratic, lossAndGradientAt, projectedGradientNorm } from './box-quadratic';
import { DEFAULT_NEWTON_SETTINGS, NewtonSettings, solveProjectedNewton } from './projected-newton';
import { LayerInput, SolverName } from './types';

export type { LayerInput, LayerResult };

export interface BatchSettings {
  /** The direct merge is `adam` with 0 steps from the direct weights. */
  readonly solver: SolverName;
  /** Adam's steps; for `newton` only the scale of the progress it reports (see solveBatch). */
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  /** Starting coefficients (1, 1 for ZipLoRA; the direct merge is 0 steps from its weights). */
  readonly start: readonly [number, number];
  /** Weights of the direct merge the result is compared with. */
  readonly directWeights: readonly [number, number];
  /** Newton's stop and caps (defaults: DEFAULT_NEWTON_SETTINGS). */
  readonly newton?: Partial<NewtonSettings>;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;
/** Default bound on batch × R × max(in, out), so that intermediates stay within a few hundred MB. */
export const DEFAULT_MAX_BATCH_ELEMENTS = 8 << 20;

/** The sizes of one layer's merge problem, oriented for the chosen columns (in is the coefficients' length). */
export interface ProblemShape {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly rankContent: number;
  readonly rankStyle: number;
}

/**
 * Groups layers into batches of equal (in, r_c, r_s); layers of different out share a batch, their up factors
 * padded with zero columns (which leave G = B̃ᵀB̃ unchanged). Fewer, larger batches mean fewer kernel launches
 * on a GPU. tfjs-wasm gets one layer per batch: its fast XNNPACK products are 2-D only, batched ones run ≈8×
 * slower. `maxElements` bounds batch × R × max(in, out) (memory).
 */
export function planBatches(shapes: readonly ProblemShape[], oneLayerPerBatch: boolean, maxElements = DEFAULT_MAX_BATCH_ELEMENTS): number[][] {
  const groups = new Map<string, number[]>();
  shapes.forEach((s, index) => {
    const key = `${s.inFeatures}:${s.rankContent}:${s.rankStyle}`;
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  const batches: number[][] = [];
  for (const indices of groups.values()) {
    // Largest out first, so that a batch's padding stays small.
    indices.sort((a, b) => shapes[b].outFeatures - shapes[a].outFeatures);
    let batch: number[] = [];
    let width = 0;
    for (const index of indices) {
      const s = shapes[index];
      const nextWidth = Math.max(width, s.inFeatures, s.outFeatures);
      if (batch.length && (oneLayerPerBatch || (batch.length + 1) * (s.rankContent + s.rankStyle) * nextWidth > maxElements)) {
        batches.push(batch);
        batch = [];
        width = 0;
      }
      batch.push(index);
      width = Math.max(width, s.inFeatures, s.outFeatures);
    }
    if (batch.length) batches.push(batch);
  }
  return batches;
}

/** Multiply-adds of one optimisation step of one layer (for GFLOP/s reports). */
export function multiplyAddsPerStep(shape: ProblemShape): number {
  const R = shape.rankContent + shape.rankStyle;
  return 2 * R * R * shape.inFeatures;
}

interface AdamState {
  readonly mContent: Tensor3D;
  readonly mStyle: Tensor3D;
  /** First and second moments of m_c, then of m_s. */
  readonly moments: readonly Tensor3D[];
}

/** One Adam step (bias-corrected), clamped to the box [0, 1]; returns new tensors, disposes none. */
function adamStep(tf: typeof TF, state: AdamState, gradContent: Tensor3D, gradStyle: Tensor3D, step: number, learningRate: number): AdamState {
  return tf.tidy(() => {
    const correction1 = 1 - BETA1 ** step;
    const correction2 = 1 - BETA2 ** step;
    const update = (m: Tensor3D, g: TF.Tensor, first: Tensor3D, second: Tensor3D) => {
      const f = tf.add(tf.mul(first, BETA1), tf.mul(g, 1 - BETA1)) as Tensor3D;
      const s = tf.add(tf.mul(second, BETA2), tf.mul(tf.square(g), 1 - BETA2)) as Tensor3D;
      const stepSize = tf.div(tf.mul(f, learningRate / correction1), tf.add(tf.sqrt(tf.div(s, correction2)), EPSILON));
      return { m: tf.clipByValue(tf.sub(m, stepSize), 0, 1) as Tensor3D, f, s };
    };
    const c = update(state.mContent, gradContent, state.moments[0], state.moments[1]);
    const s = update(state.mStyle, gradStyle, state.moments[2], state.moments[3]);
    return { mContent: c.m, mStyle: s.m, moments: [c.f, c.s, s.f, s.s] };
  });
}

const disposeState = (tf: typeof TF, state: AdamState) => tf.dispose([state.mContent, state.mStyle, ...state.moments]);

/**
 * Solves a batch of layers of one shape and measures the result. `onSteps(step)` is awaited every few Adam
 * steps, or after every Newton iteration (it yields to the event loop and may throw to cancel); `step` counts
 * towards `settings.steps` either way — Newton reports its share of the work done (see solveProjectedNewton)
 * scaled to `settings.steps`, and `settings.steps` when it stops — so a caller's progress total of
 * layers × steps holds for both.
 */
export async function solveBatch(backend: ComputeBackend, layers: readonly LayerInput[], settings: BatchSettings, onSteps: (step: number) => Promise<void>): Promise<LayerResult[]> {
  const prepared = prepareBatch(backend.tf, layers, settings.lambda);
  try {
    return await (settings.solver === 'newton' ? solveNewton(prepared, settings, onSteps) : solveAdam(prepared, settings, onSteps));
  } finally {
    prepared.dispose();
  }
}

/** m_c and m_s as [B, in, 1] columns (batch-measures' layout) from [B, 2, in]. */
function splitCoefficients(q: BoxQuadratic, x: Tensor3D): [Tensor3D, Tensor3D] {
  const { tf, size: B, inFeatures: n } = q;
  return tf.tidy(() => [0, 1].map((row) => tf.reshape(tf.slice(x, [0, row, 0], [B, 1, n]), [B, n, 1]) as Tensor3D) as [Tensor3D, Tensor3D]);
}

async function solveNewton(prepared: PreparedBatch, settings: BatchSettings, onSteps: (step: number) => Promise<void>): Promise<LayerResult[]> {
  const { tf, size: B, inFeatures: n } = prepared;
  const newton = { ...DEFAULT_NEWTON_SETTINGS, ...settings.newton };
  const q = boxQuadratic(prepared);
  const start = tf.tidy(() => tf.concat([tf.fill([B, 1, n], settings.start[0]), tf.fill([B, 1, n], settings.start[1])], 1) as Tensor3D);
  let split: [Tensor3D, Tensor3D] | undefined;
  try {
    const solved = await solveProjectedNewton(q, prepared.rankContent, start, newton, (done) => onSteps(Math.floor(settings.steps * done)));
    split = splitCoefficients(q, solved.x);
    solved.x.dispose();
    await onSteps(settings.steps);
    const measured = await measureBatch(prepared, split[0], split[1], [], { directWeights: settings.directWeights, atDirect: false });
    return measured.map((m, i) => ({
      ...m,
      // The loss at the start and after every iteration; its last value is the loss at the result.
      losses: solved.losses[i],
      solver: 'newton',
      iterations: solved.iterations[i],
      evaluations: solved.evaluations[i],
      projectedGradientNorm: solved.projectedGradientNorm[i],
      converged: solved.converged[i],
    }));
  } finally {
    tf.dispose([start, ...(split ?? [])]);
    q.dispose();
  }
}

/** ‖P(m − ∇L) − m‖ per layer at Adam's result (one more gradient, not counted as a step). */
async function projectedGradientAt(prepared: PreparedBatch, mContent: Tensor3D, mStyle: Tensor3D): Promise<Float32Array> {
  const { tf, size: B, inFeatures: n } = prepared;
  const q = boxQuadratic(prepared);
  try {
    const norm = tf.tidy(() => {
      const x = tf.concat([tf.reshape(mContent, [B, 1, n]), tf.reshape(mStyle, [B, 1, n])], 1) as Tensor3D;
      return projectedGradientNorm(q, x, lossAndGradientAt(q, x).gradient);
    });
    const values = (await norm.data()) as Float32Array;
    norm.dispose();
    return values;
  } finally {
    q.dispose();
  }
}

async function solveAdam(prepared: PreparedBatch, settings: BatchSettings, onSteps: (step: number) => Promise<void>): Promise<LayerResult[]> {
  const { tf } = prepared;
  const shape: [number, number, number] = [prepared.size, prepared.inFeatures, 1];
  // Coefficients and Adam moments are column vectors [B, in, 1].
  let state: AdamState = {
    mContent: tf.fill(shape, settings.start[0]) as Tensor3D,
    mStyle: tf.fill(shape, settings.start[1]) as Tensor3D,
    moments: [0, 1, 2, 3].map(() => tf.zeros(shape) as Tensor3D),
  };
  const losses: TF.Tensor1D[] = [];
  try {
    for (let step = 1; step <= settings.steps; step++) {
      const { loss, gradContent, gradStyle } = lossAndGradient(prepared, state.mContent, state.mStyle);
      losses.push(loss);
      const next = adamStep(tf, state, gradContent, gradStyle, step, settings.learningRate);
      tf.dispose([gradContent, gradStyle]);
      disposeState(tf, state);
      state = next;
      if (step % 5 === 0 || step === settings.steps) await onSteps(step);
    }
    const [wc, ws] = settings.directWeights;
    // With no steps from the direct weights the result is the direct merge: measure it once.
    const atDirect = settings.steps === 0 && settings.start[0] === wc && settings.start[1] === ws;
    const measured: LayerMeasures[] = await measureBatch(prepared, state.mContent, state.mStyle, losses, { directWeights: settings.directWeights, atDirect });
    const norms = await projectedGradientAt(prepared, state.mContent, state.mStyle);
    return measured.map((m, i) => ({ ...m, solver: 'adam', iterations: settings.steps, evaluations: settings.steps, projectedGradientNorm: norms[i], converged: false }));
  } finally {
    tf.dispose(losses);
    disposeState(tf, state);
  }
}
