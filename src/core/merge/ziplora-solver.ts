/**
 * ZipLoRA's per-layer optimisation on a tfjs backend: Adam on (m_c, m_s) from 1, clamped to [0, 1] after each
 * step, with the analytic gradient of objective.ts. Layers of equal (in, r_c, r_s) are independent problems
 * and run together as one batch; every product factors through thin matrices (R × in and R × r), never
 * out × in. Per step and layer that is four R·r·in products: two for the loss, two for the gradient.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { ComputeBackend } from './backends';
import { PreparedLayer } from './objective';
import { ZipLoraSettings } from './types';

export interface LayerSolution {
  readonly mContent: Float32Array;
  readonly mStyle: Float32Array;
  /** Loss before each step, then the final loss: steps + 1 values. */
  readonly losses: Float32Array;
}

export interface SolveCallbacks {
  /** Called as each layer's solution is ready, in any order. */
  onLayerSolved(index: number, solution: LayerSolution): void;
  /** Called every few steps with the layer-steps done so far out of all of them. */
  onProgress?(doneLayerSteps: number, totalLayerSteps: number): void;
  /** Throws (e.g. on a cancel) to stop; checked between steps. */
  checkCancelled?(): void;
}

/** Steps between yields to the event loop, so that cancel messages and progress get through. */
const STEPS_PER_YIELD = 5;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;
/** Upper bound on batch × R × in, so intermediates stay within a few hundred MB. */
const MAX_BATCH_ELEMENTS = 8 << 20;

/** Groups layer indices by shape, each group split into batches small enough for memory. */
export function batchesByShape(layers: readonly PreparedLayer[], maxBatch = Infinity): number[][] {
  const groups = new Map<string, number[]>();
  layers.forEach((layer, index) => {
    const key = `${layer.inFeatures}:${layer.rankContent}:${layer.rankStyle}`;
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  const batches: number[][] = [];
  for (const indices of groups.values()) {
    const layer = layers[indices[0]];
    const perLayer = (layer.rankContent + layer.rankStyle) * layer.inFeatures;
    const size = Math.max(1, Math.min(maxBatch, Math.floor(MAX_BATCH_ELEMENTS / perLayer)));
    for (let i = 0; i < indices.length; i += size) batches.push(indices.slice(i, i + size));
  }
  return batches;
}

/** Multiply-adds of one step of one layer (for GFLOP/s reports): four R·r·in products. */
export function multiplyAddsPerStep(layer: PreparedLayer): number {
  const R = layer.rankContent + layer.rankStyle;
  return 2 * R * (layer.rankContent + layer.rankStyle) * layer.inFeatures;
}

type Tensor3D = TF.Tensor3D;


function stack3(tf: typeof TF, arrays: ArrayLike<number>[], rows: number, cols: number): Tensor3D {
  const data = new Float32Array(arrays.length * rows * cols);
  arrays.forEach((a, i) => data.set(a as ArrayLike<number>, i * rows * cols));
  return tf.tensor3d(data, [arrays.length, rows, cols]);
}

async function solveBatch(backend: ComputeBackend, layers: PreparedLayer[], settings: ZipLoraSettings, onSteps: (steps: number) => Promise<void>): Promise<LayerSolution[]> {
  const { tf } = backend;
  const B = layers.length;
  const { inFeatures: n, rankContent: rc, rankStyle: rs } = layers[0];
  const R = rc + rs;
  const disposables: TF.Tensor[] = [];
  const keep = <T extends TF.Tensor>(t: T): T => {
    disposables.push(t);
    return t;
  };
  try {
    const down = stack3(tf, layers.map((l) => l.down), R, n);
    const downContent = keep(tf.slice(down, [0, 0, 0], [B, rc, n]));
    const downStyle = keep(tf.slice(down, [0, rc, 0], [B, rs, n]));
    tf.dispose(down);
    // Transposed copies (in × r), made once: weighting by m is then a broadcast over rows, the reduction for
    // the gradient runs along the last axis, and every product in the loop is a plain, un-transposed one.
    const downContentT = keep(tf.transpose(downContent, [0, 2, 1]));
    const downStyleT = keep(tf.transpose(downStyle, [0, 2, 1]));
    const gram = keep(stack3(tf, layers.map((l) => l.upGram), R, R));
    const gramContent = keep(tf.slice(gram, [0, 0, 0], [B, rc, rc]));
    const gramStyle = keep(tf.slice(gram, [0, rc, rc], [B, rs, rs]));
    // 1/N per layer; a layer with a zero delta has no fidelity term (its weight is 0, not 1/0).
    const inverse = (norms: number[]) => keep(tf.tensor3d(norms.map((v) => (v > 0 ? 1 / v : 0)), [B, 1, 1]));
    const invNormContent = inverse(layers.map((l) => l.normContent));
    const invNormStyle = inverse(layers.map((l) => l.normStyle));
    const penaltyScale = settings.lambda / n;

    // Coefficients and Adam moments are column vectors [B, in, 1].
    let mContent = tf.ones([B, n, 1]) as Tensor3D;
    let mStyle = tf.ones([B, n, 1]) as Tensor3D;
    let moments = [tf.zeros([B, n, 1]), tf.zeros([B, n, 1]), tf.zeros([B, n, 1]), tf.zeros([B, n, 1])] as Tensor3D[];
    const losses: TF.Tensor1D[] = [];

    /**
     * One fidelity term: Z = [A_c·diag(wTop); A_s·diag(wBottom)]·A_tᵀ, error = tr(ZᵀGZH)/N, and the gradient
     * with respect to wTop and wBottom, column j being A[:, j]ᵀ·(2/N·G·Z·H·A_t)[:, j] for each row block.
     */
    const fidelityTerm = (wTop: Tensor3D, wBottom: Tensor3D, targetT: Tensor3D, rt: number, h: Tensor3D, invNorm: Tensor3D) => {
      const zTop = tf.matMul(downContent, tf.mul(targetT, wTop));
      const zBottom = tf.matMul(downStyle, tf.mul(targetT, wBottom));
      const z = tf.concat([zTop, zBottom], 1) as Tensor3D;
      const t = tf.matMul(tf.matMul(gram, z), h) as Tensor3D;
      const error = tf.mul(tf.sum(tf.mul(z, t), [1, 2], true), invNorm);
      const yT = tf.transpose(tf.mul(t, tf.mul(invNorm, 2)), [0, 2, 1]) as Tensor3D;
      const pTop = tf.matMul(targetT, tf.slice(yT, [0, 0, 0], [B, rt, rc]));
      const pBottom = tf.matMul(targetT, tf.slice(yT, [0, 0, rc], [B, rt, rs]));
      const gradTop = tf.sum(tf.mul(downContentT, pTop), 2, true) as Tensor3D;
      const gradBottom = tf.sum(tf.mul(downStyleT, pBottom), 2, true) as Tensor3D;
      return { error, gradTop, gradBottom };
    };

    /** Loss per layer and the gradient, as in objective.ts. */
    const lossAndGradient = (mc: Tensor3D, ms: Tensor3D) =>
      tf.tidy(() => {
        const content = fidelityTerm(tf.sub(mc, 1) as Tensor3D, ms, downContentT, rc, gramContent, invNormContent);
        const style = fidelityTerm(mc, tf.sub(ms, 1) as Tensor3D, downStyleT, rs, gramStyle, invNormStyle);
        const product = tf.mul(mc, ms);
        const penalty = tf.mul(tf.sum(tf.abs(product), [1, 2], true), penaltyScale);
        const sign = tf.sign(product);
        const gradContent = tf.addN([content.gradTop, style.gradTop, tf.mul(tf.mul(sign, ms), penaltyScale)]);
        const gradStyle = tf.addN([content.gradBottom, style.gradBottom, tf.mul(tf.mul(sign, mc), penaltyScale)]);
        const loss = tf.reshape(tf.addN([content.error, style.error, penalty]), [B]) as TF.Tensor1D;
        return { loss, gradContent, gradStyle };
      });

    for (let step = 1; step <= settings.steps; step++) {
      const { loss, gradContent, gradStyle } = lossAndGradient(mContent, mStyle);
      losses.push(loss);
      const next = tf.tidy(() => {
        const correction1 = 1 - BETA1 ** step;
        const correction2 = 1 - BETA2 ** step;
        const update = (m: Tensor3D, g: TF.Tensor, first: Tensor3D, second: Tensor3D) => {
          const f = tf.add(tf.mul(first, BETA1), tf.mul(g, 1 - BETA1)) as Tensor3D;
          const s = tf.add(tf.mul(second, BETA2), tf.mul(tf.square(g), 1 - BETA2)) as Tensor3D;
          const stepSize = tf.div(tf.mul(f, settings.learningRate / correction1), tf.add(tf.sqrt(tf.div(s, correction2)), EPSILON));
          return { m: tf.clipByValue(tf.sub(m, stepSize), 0, 1) as Tensor3D, f, s };
        };
        const c = update(mContent, gradContent, moments[0], moments[1]);
        const s = update(mStyle, gradStyle, moments[2], moments[3]);
        return [c.m, s.m, c.f, c.s, s.f, s.s];
      });
      tf.dispose([gradContent, gradStyle, mContent, mStyle, ...moments]);
      [mContent, mStyle] = next;
      moments = next.slice(2) as Tensor3D[];
      if (step % STEPS_PER_YIELD === 0 || step === settings.steps) await onSteps(step);
    }
    const final = lossAndGradient(mContent, mStyle);
    losses.push(final.loss);
    tf.dispose([final.gradContent, final.gradStyle, ...moments]);
    const lossTable = tf.stack(losses, 1);
    const lossValues = lossTable.dataSync() as Float32Array;
    const mc = mContent.dataSync() as Float32Array;
    const ms = mStyle.dataSync() as Float32Array;
    tf.dispose([lossTable, ...losses, mContent, mStyle]);
    return layers.map((_, i) => ({
      mContent: mc.slice(i * n, (i + 1) * n),
      mStyle: ms.slice(i * n, (i + 1) * n),
      losses: lossValues.slice(i * (settings.steps + 1), (i + 1) * (settings.steps + 1)),
    }));
  } finally {
    tf.dispose(disposables);
  }
}

/** Solves every layer, batch by batch, reporting each solution as soon as its batch is done. */
export async function solveZipLora(backend: ComputeBackend, layers: readonly PreparedLayer[], settings: ZipLoraSettings, callbacks: SolveCallbacks): Promise<void> {
  const total = layers.length * settings.steps;
  let done = 0;
  for (const batch of batchesByShape(layers, backend.oneLayerPerBatch ? 1 : Infinity)) {
    callbacks.checkCancelled?.();
    let reported = 0;
    const onSteps = async (step: number) => {
      done += (step - reported) * batch.length;
      reported = step;
      callbacks.onProgress?.(done, total);
      await yieldToEventLoop();
      callbacks.checkCancelled?.();
    };
    const solutions = await solveBatch(backend, batch.map((i) => layers[i]), settings, onSteps);
    batch.forEach((layerIndex, i) => callbacks.onLayerSolved(layerIndex, solutions[i]));
  }
}
