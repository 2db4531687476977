/**
 * ZipLoRA's per-layer optimisation on a tfjs backend (DESIGN §5): Adam on (m_c, m_s) from the initial
 * coefficients, clamped to [0, 1] after each step. The batch's tensors and the objective's analytic gradient
 * are in batch-tensors.ts (tested against the float64 reference objective.ts), the measures of the result in
 * batch-measures.ts. Layers of equal (in, r_c, r_s) are independent problems and run as one batch. Per step and
 * layer that is 2·R²·in multiply-adds.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { ComputeBackend } from './backends';
import { LayerResult, measureBatch } from './batch-measures';
import { lossAndGradient, prepareBatch, Tensor3D } from './batch-tensors';
import { LayerInput } from './types';

export type { LayerInput, LayerResult };

export interface BatchSettings {
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  /** Starting coefficients (1, 1 for ZipLoRA; the direct merge is 0 steps from its weights). */
  readonly start: readonly [number, number];
  /** Weights of the direct merge the result is compared with. */
  readonly directWeights: readonly [number, number];
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;
/** Default bound on batch × R × max(in, out), so that intermediates stay within a few hundred MB. */
export const DEFAULT_MAX_BATCH_ELEMENTS = 8 << 20;

export interface LayerShape {
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
export function planBatches(shapes: readonly LayerShape[], oneLayerPerBatch: boolean, maxElements = DEFAULT_MAX_BATCH_ELEMENTS): number[][] {
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
export function multiplyAddsPerStep(shape: LayerShape): number {
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
 * Solves a batch of layers of one shape and measures the result. `onSteps(step)` is awaited every few steps
 * (it yields to the event loop and may throw to cancel).
 */
export async function solveBatch(backend: ComputeBackend, layers: readonly LayerInput[], settings: BatchSettings, onSteps: (step: number) => Promise<void>): Promise<LayerResult[]> {
  const { tf } = backend;
  const prepared = prepareBatch(tf, layers, settings.lambda);
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
    return await measureBatch(prepared, state.mContent, state.mStyle, losses, { directWeights: settings.directWeights, atDirect });
  } finally {
    tf.dispose(losses);
    disposeState(tf, state);
    prepared.dispose();
  }
}

export interface SolveCallbacks {
  /** Called as each layer's result is ready, in any order. */
  onLayerSolved(index: number, result: LayerResult): void;
  /** Layer-steps done so far out of all of them. */
  onProgress?(doneLayerSteps: number, totalLayerSteps: number): void;
  /** Throws (e.g. on a cancel) to stop; checked between steps. */
  checkCancelled?(): void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Solves every layer, batch by batch (tests and benchmarks; the merge pipeline streams batches itself). */
export async function solveAll(backend: ComputeBackend, layers: readonly LayerInput[], settings: BatchSettings, callbacks: SolveCallbacks): Promise<void> {
  const shapes = layers.map((l) => ({ inFeatures: l.content.inFeatures, outFeatures: l.content.outFeatures, rankContent: l.content.rank, rankStyle: l.style.rank }));
  const total = layers.length * Math.max(1, settings.steps);
  let done = 0;
  for (const batch of planBatches(shapes, backend.oneLayerPerBatch, backend.maxBatchElements)) {
    callbacks.checkCancelled?.();
    let reported = 0;
    const results = await solveBatch(backend, batch.map((i) => layers[i]), settings, async (step) => {
      done += (step - reported) * batch.length;
      reported = step;
      callbacks.onProgress?.(done, total);
      await yieldToEventLoop();
      callbacks.checkCancelled?.();
    });
    batch.forEach((layerIndex, i) => callbacks.onLayerSolved(layerIndex, results[i]));
  }
}
