/**
 * ZipLoRA's per-layer optimisation of N inputs (2..8) on a tfjs backend (docs/merge-method.md §3), by one of two
 * solvers: projected Newton-CG run to convergence on the box-constrained quadratic (projected-newton.ts, on the
 * fused form box-quadratic.ts), or the paper's recipe, Adam on (m_1, …, m_N) from the initial coefficients,
 * clamped to [0, 1] after each step; with λ = `auto`, either along a short λ path (lambda-path.ts). The batch's
 * tensors and the objective's analytic gradient are in batch-tensors.ts (tested against a float64 reference of
 * docs/merge-method.md §2), the measures of the result in batch-measures.ts. Layers of equal (in, r_1..r_N) are
 * independent problems and run as one batch. Per gradient (or Hessian product) and layer that is 2·R²·in
 * multiply-adds, R = Σ r_i.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { ComputeBackend } from './backends';
import { LayerMeasures, LayerResult, measureBatch } from './batch-measures';
import { lossAndGradient, PreparedBatch, prepareBatch, Tensor3D, withLambda } from './batch-tensors';
import { boxQuadratic, BoxQuadratic, lossAndGradientAt, projectedGradientNorm } from './box-quadratic';
import { PathPointOptions, solveLambdaPath } from './lambda-path';
import { certified, optimalityGap } from './optimality-gap';
import { DEFAULT_NEWTON_SETTINGS, NewtonSettings, solveProjectedNewton } from './projected-newton';
import { LambdaSetting, LayerInput, SolverName, StopReason } from './types';

export type { LayerInput, LayerResult };

export interface BatchSettings {
  /** The direct merge is `adam` with 0 steps from m = 1. */
  readonly solver: SolverName;
  /** Adam's steps; for `newton` only the scale of the progress it reports (see solveBatch). */
  readonly steps: number;
  readonly lambda: LambdaSetting;
  readonly learningRate: number;
  /** Starting coefficients, one for all inputs or one per input (default 1: the direct merge). */
  readonly start?: number | readonly number[];
  /**
   * Coefficients of the direct merge each result is compared with, per input (default 1 each: the sum of the
   * weighted deltas). Only the temporary two-way bridge sets others (its old per-input direct weights).
   */
  readonly directWeights?: readonly number[];
  /** Newton's stop and caps (defaults: DEFAULT_NEWTON_SETTINGS); its `gapFraction` stops Adam too. */
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
  /** r_i of every input that has the layer, in input order. */
  readonly ranks: readonly number[];
}

const totalRank = (shape: ProblemShape) => shape.ranks.reduce((a, r) => a + r, 0);

/**
 * Groups layers into batches of equal (in, r_1..r_N); layers of different out share a batch, their up factors
 * padded with zero columns (which leave G = B̃ᵀB̃ unchanged). Fewer, larger batches mean fewer kernel launches
 * on a GPU. tfjs-wasm gets one layer per batch: its fast XNNPACK products are 2-D only, batched ones run ≈8×
 * slower. `maxElements` bounds batch × R × max(in, out) (memory).
 */
export function planBatches(shapes: readonly ProblemShape[], oneLayerPerBatch: boolean, maxElements = DEFAULT_MAX_BATCH_ELEMENTS): number[][] {
  const groups = new Map<string, number[]>();
  shapes.forEach((s, index) => {
    const key = `${s.inFeatures}:${s.ranks.join(',')}`;
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
      if (batch.length && (oneLayerPerBatch || (batch.length + 1) * totalRank(s) * nextWidth > maxElements)) {
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
  const R = totalRank(shape);
  return 2 * R * R * shape.inFeatures;
}

/** Per-input starting coefficients of a batch of `count` inputs. */
function startValues(settings: BatchSettings, count: number): number[] {
  const { start = 1 } = settings;
  const values = typeof start === 'number' ? new Array<number>(count).fill(start) : [...start];
  if (values.length !== count) throw new Error(`BatchSettings.start has ${values.length} values for ${count} inputs`);
  return values;
}

/**
 * Solves a batch of layers of one shape and measures the result. `onSteps(step)` is awaited every few Adam
 * steps, or after every Newton iteration (it yields to the event loop and may throw to cancel); `step` counts
 * towards `settings.steps` either way — Newton reports its share of the work done (see solveProjectedNewton)
 * scaled to `settings.steps`, and `settings.steps` when it stops; the λ path divides it among its points — so a
 * caller's progress total of layers × steps holds for all.
 */
export async function solveBatch(backend: ComputeBackend, layers: readonly LayerInput[], settings: BatchSettings, onSteps: (step: number) => Promise<void>): Promise<LayerResult[]> {
  const { lambda } = settings;
  const prepared = prepareBatch(backend.tf, layers, lambda === 'auto' ? 0 : lambda);
  const { tf, size: B, inFeatures: n } = prepared;
  const N = prepared.ranks.length;
  const directWeights = settings.directWeights ?? new Array<number>(N).fill(1);
  const start = tf.tidy(() => tf.concat(startValues(settings, N).map((v) => tf.fill([B, 1, n], v)), 1) as Tensor3D);
  try {
    if (lambda !== 'auto') {
      const solved = await solveAt(prepared, settings, start, directWeights, onSteps);
      solved.x.dispose();
      return solved.results.map((r) => ({ ...r, lambda }));
    }
    const newton = { ...DEFAULT_NEWTON_SETTINGS, ...settings.newton };
    const budget = settings.solver === 'newton' ? newton.maxEvaluations : settings.steps;
    return await solveLambdaPath((value, from, onDone, options) => solveAt(withLambda(prepared, value), settings, from, directWeights, onDone, options), start, { solver: settings.solver, budget, progressSteps: settings.steps }, onSteps);
  } finally {
    start.dispose();
    prepared.dispose();
  }
}

/** What one solve at one λ leaves: the measured layers (λ not yet set) and the final coefficients [B, N, in]. */
export interface SolvedAt {
  readonly results: Omit<LayerResult, 'lambda'>[];
  /** The caller disposes it. */
  readonly x: Tensor3D;
  /** Newton only: ‖P(x − ∇L) − x‖ per layer at the start. */
  readonly startNorms?: Float32Array;
}

/** Solves the batch at the batch's λ from `start` ([B, N, in], not disposed) with the settings' solver. */
function solveAt(prepared: PreparedBatch, settings: BatchSettings, start: Tensor3D, directWeights: readonly number[], onSteps: (step: number) => Promise<void>, options: PathPointOptions = {}): Promise<SolvedAt> {
  return settings.solver === 'newton' ? solveNewton(prepared, settings, start, directWeights, onSteps, options) : solveAdam(prepared, { ...settings, steps: options.steps ?? settings.steps }, start, directWeights, onSteps, options.reuse);
}

/** m_i as [B, in, 1] columns (batch-measures' layout) from [B, N, in]. */
function splitCoefficients(tf: typeof TF, x: Tensor3D): Tensor3D[] {
  const [B, N, n] = x.shape;
  return tf.tidy(() => Array.from({ length: N }, (_, row) => tf.reshape(tf.slice(x, [0, row, 0], [B, 1, n]), [B, n, 1]) as Tensor3D));
}

/** [B, N, in] from m_i as [B, in, 1] columns. */
function joinCoefficients(tf: typeof TF, m: readonly Tensor3D[]): Tensor3D {
  return tf.tidy(() => tf.concat(m.map((c) => tf.reshape(c, [c.shape[0], 1, c.shape[1]])), 1) as Tensor3D);
}

async function solveNewton(prepared: PreparedBatch, settings: BatchSettings, start: Tensor3D, directWeights: readonly number[], onSteps: (step: number) => Promise<void>, options: PathPointOptions): Promise<SolvedAt> {
  const { tf } = prepared;
  const newton = { ...DEFAULT_NEWTON_SETTINGS, ...settings.newton };
  const q = boxQuadratic(prepared);
  let split: Tensor3D[] | undefined;
  try {
    const solved = await solveProjectedNewton(q, start, newton, (done) => onSteps(Math.floor(settings.steps * done)), options.limits);
    try {
      split = splitCoefficients(tf, solved.x);
      await onSteps(settings.steps);
      const measured = await measureBatch(prepared, split, [], { directWeights, atDirect: false, reuse: options.reuse });
      const results = measured.map((m, i) => ({
        ...m,
        // The loss at the start and after every iteration; its last value is the loss at the result.
        losses: solved.losses[i],
        solver: 'newton' as const,
        iterations: solved.iterations[i],
        evaluations: solved.evaluations[i],
        projectedGradientNorm: solved.projectedGradientNorm[i],
        gap: solved.gap[i],
        stop: solved.stop[i],
        converged: solved.converged[i],
      }));
      return { results, x: solved.x, startNorms: solved.startNorm };
    } catch (error) {
      solved.x.dispose();
      throw error;
    }
  } finally {
    tf.dispose(split ?? []);
    q.dispose();
  }
}

/** ‖P(m − ∇L) − m‖ and the certificate per layer at Adam's result (one more gradient, not counted as a step). */
async function stationarityAt(prepared: PreparedBatch, x: Tensor3D): Promise<{ norms: Float32Array; gaps: Float32Array }> {
  const q: BoxQuadratic = boxQuadratic(prepared);
  try {
    const both = prepared.tf.tidy(() => {
      const { gradient } = lossAndGradientAt(q, x);
      return prepared.tf.concat([projectedGradientNorm(q, x, gradient), optimalityGap(prepared.tf, x, gradient, q.penaltyScale)], 2);
    });
    const values = (await both.data()) as Float32Array;
    both.dispose();
    return { norms: values.filter((_, k) => k % 2 === 0), gaps: values.filter((_, k) => k % 2 === 1) };
  } finally {
    q.dispose();
  }
}

interface AdamState {
  /** m_i per input, [B, in, 1]. */
  readonly m: readonly Tensor3D[];
  /** First and second moment per input. */
  readonly first: readonly Tensor3D[];
  readonly second: readonly Tensor3D[];
}

/**
 * One Adam step (bias-corrected), clamped to the box [0, 1]; with `moving` ([B, 1, 1] of 0 and 1), only for the
 * layers where it is 1 (the others keep their state). Returns new tensors, disposes none.
 */
function adamStep(tf: typeof TF, state: AdamState, gradients: readonly Tensor3D[], step: number, learningRate: number, moving?: TF.Tensor): AdamState {
  return tf.tidy(() => {
    const correction1 = 1 - BETA1 ** step;
    const correction2 = 1 - BETA2 ** step;
    const updated = state.m.map((m, i) => {
      const g = gradients[i];
      const f = tf.add(tf.mul(state.first[i], BETA1), tf.mul(g, 1 - BETA1)) as Tensor3D;
      const s = tf.add(tf.mul(state.second[i], BETA2), tf.mul(tf.square(g), 1 - BETA2)) as Tensor3D;
      const stepSize = tf.div(tf.mul(f, learningRate / correction1), tf.add(tf.sqrt(tf.div(s, correction2)), EPSILON));
      // next·1 + old·0 is next exactly, so layers that move get Adam's own values.
      const keepOld = (next: TF.Tensor, old: Tensor3D) => (moving ? tf.add(tf.mul(next, moving), tf.mul(old, tf.sub(1, moving))) : next) as Tensor3D;
      return { m: keepOld(tf.clipByValue(tf.sub(m, stepSize), 0, 1), m), f: keepOld(f, state.first[i]), s: keepOld(s, state.second[i]) };
    });
    return { m: updated.map((u) => u.m), first: updated.map((u) => u.f), second: updated.map((u) => u.s) };
  });
}

const disposeState = (tf: typeof TF, state: AdamState) => tf.dispose([...state.m, ...state.first, ...state.second]);

/** Adam checks the certificate every this many steps (at the first, sixth …): one read-back per check. */
const CERTIFICATE_EVERY = 5;

/**
 * Adam from `start`: `settings.steps` steps, except that a layer whose certificate (optimality-gap.ts) proves it
 * within `gapFraction` of the optimum stops there, keeping its coefficients while the others go on.
 */
async function solveAdam(prepared: PreparedBatch, settings: BatchSettings, start: Tensor3D, directWeights: readonly number[], onSteps: (step: number) => Promise<void>, reuse?: readonly LayerMeasures[]): Promise<SolvedAt> {
  const { tf, size: B } = prepared;
  const { gapFraction } = { ...DEFAULT_NEWTON_SETTINGS, ...settings.newton };
  const m = splitCoefficients(tf, start);
  // Coefficients and Adam moments are column vectors [B, in, 1].
  let state: AdamState = { m, first: m.map((c) => tf.zerosLike(c) as Tensor3D), second: m.map((c) => tf.zerosLike(c) as Tensor3D) };
  const losses: TF.Tensor1D[] = [];
  // Steps taken per layer; a layer stopped by its certificate took fewer.
  const taken = new Int32Array(B).fill(settings.steps);
  const stopped = new Array<boolean>(B).fill(false);
  let moving: TF.Tensor | undefined;
  try {
    for (let step = 1; step <= settings.steps; step++) {
      const { loss, gradients } = lossAndGradient(prepared, state.m);
      losses.push(loss);
      if (gapFraction > 0 && (step - 1) % CERTIFICATE_EVERY === 0) {
        // The certificate pairs the inputs column by column: the per-input columns joined to [B, N, in].
        const gapTensor = tf.tidy(() => optimalityGap(tf, joinCoefficients(tf, state.m), joinCoefficients(tf, gradients), prepared.penaltyScale));
        const [gaps, values] = await Promise.all([gapTensor.data(), loss.data()]);
        gapTensor.dispose();
        const newlyStopped = stopped.map((done, b) => !done && certified(gaps[b], values[b], gapFraction));
        newlyStopped.forEach((now, b) => now && ((stopped[b] = true), (taken[b] = step - 1)));
        if (stopped.every(Boolean)) {
          tf.dispose(gradients);
          await onSteps(settings.steps);
          break;
        }
        if (newlyStopped.some(Boolean)) {
          moving?.dispose();
          moving = tf.tensor3d(stopped.map((done) => (done ? 0 : 1)), [B, 1, 1]);
        }
      }
      const next = adamStep(tf, state, gradients, step, settings.learningRate, moving);
      tf.dispose(gradients);
      disposeState(tf, state);
      state = next;
      if (step % 5 === 0 || step === settings.steps) await onSteps(step);
    }
    // With no steps from the direct weights the result is the direct merge: measure it once.
    const startsAtDirect = settings.steps === 0 && startValues(settings, state.m.length).every((v, i) => v === directWeights[i]);
    const measured = await measureBatch(prepared, state.m, losses, { directWeights, atDirect: startsAtDirect, reuse });
    const x = joinCoefficients(tf, state.m);
    try {
      const { norms, gaps } = await stationarityAt(prepared, x);
      const results = measured.map((r, i) => {
        const stop: StopReason = stopped[i] ? 'certificate' : 'cap';
        // The losses before each step this layer took, then the final one.
        const ownLosses = Float32Array.of(...r.losses.subarray(0, taken[i]), r.losses[r.losses.length - 1]);
        return { ...r, losses: ownLosses, solver: 'adam' as const, iterations: taken[i], evaluations: stopped[i] ? taken[i] + 1 : taken[i], projectedGradientNorm: norms[i], gap: gaps[i], stop, converged: stopped[i] };
      });
      return { results, x };
    } catch (error) {
      x.dispose();
      throw error;
    }
  } finally {
    tf.dispose([...losses, ...(moving ? [moving] : [])]);
    disposeState(tf, state);
  }
}
