/**
 * ZipLoRA's per-layer optimisation on a tfjs backend, and the measures of the result (DESIGN §5–6).
 * Adam on (m_c, m_s) from the initial coefficients, clamped to [0, 1] after each step, with the analytic
 * gradient of objective.ts (the float64 reference this is tested against). Layers of equal (in, r_c, r_s) are
 * independent problems and run as one batch; every product goes through thin matrices (R × in, R × r,
 * R × out), never out × in. Per step and layer that is 2·R²·in multiply-adds.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { ComputeBackend } from './backends';
import { LayerInput } from './types';

export type { LayerInput };

export interface BatchSettings {
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  /** Starting coefficients (1, 1 for ZipLoRA; the direct merge is 0 steps from its weights). */
  readonly start: readonly [number, number];
  /** Weights of the direct merge the result is compared with. */
  readonly directWeights: readonly [number, number];
}

/** Everything the merge needs of a solved layer; the report is assembled from it in layer-report.ts. */
export interface LayerResult {
  readonly mContent: Float32Array;
  readonly mStyle: Float32Array;
  /** Loss before each step, then the final loss: steps + 1 values. */
  readonly losses: Float32Array;
  readonly contentError: number;
  readonly styleError: number;
  readonly directContentError: number;
  readonly directStyleError: number;
  /** ⟨c_j, s_j⟩, ‖c_j‖² and ‖s_j‖² for every column j (scales included). */
  readonly columnInner: Float32Array;
  readonly columnContentSquares: Float32Array;
  readonly columnStyleSquares: Float32Array;
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

type Tensor3D = TF.Tensor3D;

/**
 * Stacks per-layer row blocks into [layers, rows, cols]; a block whose rows are shorter than `cols` is padded
 * with zeros on the right.
 */
function stack(tf: typeof TF, parts: { values: ArrayLike<number>; rowLength: number; scale?: number }[][], rows: number, cols: number): Tensor3D {
  const data = new Float32Array(parts.length * rows * cols);
  parts.forEach((layer, b) => {
    let row = b * rows;
    for (const { values, rowLength, scale = 1 } of layer) {
      for (let r = 0; r < values.length / rowLength; r++, row++) {
        for (let i = 0; i < rowLength; i++) data[row * cols + i] = values[r * rowLength + i] * scale;
      }
    }
  });
  return tf.tensor3d(data, [parts.length, rows, cols]);
}

/**
 * Solves a batch of layers of one shape and measures the result. `onSteps(step)` is awaited every few steps
 * (it yields to the event loop and may throw to cancel).
 */
export async function solveBatch(backend: ComputeBackend, layers: readonly LayerInput[], settings: BatchSettings, onSteps: (step: number) => Promise<void>): Promise<LayerResult[]> {
  const { tf } = backend;
  const B = layers.length;
  const { inFeatures: n, rank: rc } = layers[0].content;
  const rs = layers[0].style.rank;
  const out = Math.max(...layers.map((l) => l.content.outFeatures));
  const R = rc + rs;
  const owned: TF.Tensor[] = [];
  const keep = <T extends TF.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  try {
    const downContent = keep(stack(tf, layers.map((l) => [{ values: l.content.down, rowLength: n }]), rc, n));
    const downStyle = keep(stack(tf, layers.map((l) => [{ values: l.style.down, rowLength: n }]), rs, n));
    // Transposed copies (in × r), made once: weighting by m is then a broadcast over rows, reductions run along
    // the last axis, and every product in the loop is a plain, un-transposed one (XNNPACK's fast path on wasm).
    const downContentT = keep(tf.transpose(downContent, [0, 2, 1]));
    const downStyleT = keep(tf.transpose(downStyle, [0, 2, 1]));
    // G = B̃ᵀB̃ with B̃ = [s_c·B_c, s_s·B_s]: the up factors enter only through this R × R Gram.
    const upT = stack(
      tf,
      layers.map((l) => [
        { values: l.content.upTransposed, rowLength: l.content.outFeatures, scale: l.content.scale },
        { values: l.style.upTransposed, rowLength: l.style.outFeatures, scale: l.style.scale },
      ]),
      R,
      out,
    );
    const gram = keep(tf.tidy(() => tf.matMul(upT, tf.transpose(upT, [0, 2, 1])) as Tensor3D));
    upT.dispose();
    const block = (r0: number, rows: number, c0: number, cols: number) => keep(tf.slice(gram, [0, r0, c0], [B, rows, cols]));
    const [gramContent, gramStyle, gramCross] = [block(0, rc, 0, rc), block(rc, rs, rc, rs), block(0, rc, rc, rs)];
    // 1/N with N = ‖ΔW·ΔWᵀ‖² = tr((A·Aᵀ·H)²); a layer with a zero delta has no fidelity term (weight 0, not 1/0).
    const inverseNorm = (down: Tensor3D, downT: Tensor3D, h: Tensor3D) =>
      keep(
        tf.tidy(() => {
          const p = tf.matMul(tf.matMul(down, downT), h);
          const norm = tf.sum(tf.mul(p, tf.transpose(p, [0, 2, 1])), [1, 2], true);
          return tf.where(tf.greater(norm, 0), tf.div(1, norm), tf.zerosLike(norm)) as Tensor3D;
        }),
      );
    const invNormContent = inverseNorm(downContent, downContentT, gramContent);
    const invNormStyle = inverseNorm(downStyle, downStyleT, gramStyle);
    const penaltyScale = settings.lambda / n;

    /**
     * One fidelity term: Z = [A_c·diag(wTop); A_s·diag(wBottom)]·A_tᵀ, error = tr(ZᵀGZH)/N, and (unless only the
     * value is wanted) the gradient with respect to wTop and wBottom: column j is A[:, j]ᵀ·(2/N·G·Z·H·A_t)[:, j].
     */
    const fidelityTerm = (wTop: Tensor3D, wBottom: Tensor3D, targetT: Tensor3D, rt: number, h: Tensor3D, invNorm: Tensor3D, withGradient: boolean) => {
      const zTop = tf.matMul(downContent, tf.mul(targetT, wTop));
      const zBottom = tf.matMul(downStyle, tf.mul(targetT, wBottom));
      const z = tf.concat([zTop, zBottom], 1) as Tensor3D;
      const t = tf.matMul(tf.matMul(gram, z), h) as Tensor3D;
      const error = tf.mul(tf.sum(tf.mul(z, t), [1, 2], true), invNorm);
      if (!withGradient) return { error };
      const yT = tf.transpose(tf.mul(t, tf.mul(invNorm, 2)), [0, 2, 1]) as Tensor3D;
      const pTop = tf.matMul(targetT, tf.slice(yT, [0, 0, 0], [B, rt, rc]));
      const pBottom = tf.matMul(targetT, tf.slice(yT, [0, 0, rc], [B, rt, rs]));
      const gradTop = tf.sum(tf.mul(downContentT, pTop), 2, true) as Tensor3D;
      const gradBottom = tf.sum(tf.mul(downStyleT, pBottom), 2, true) as Tensor3D;
      return { error, gradTop, gradBottom };
    };
    const terms = (mc: Tensor3D, ms: Tensor3D, withGradient: boolean) => ({
      content: fidelityTerm(tf.sub(mc, 1) as Tensor3D, ms, downContentT, rc, gramContent, invNormContent, withGradient),
      style: fidelityTerm(mc, tf.sub(ms, 1) as Tensor3D, downStyleT, rs, gramStyle, invNormStyle, withGradient),
    });

    /** Loss per layer (fidelity terms + λ·mean|m_c·m_s|) and its gradient. */
    const lossAndGradient = (mc: Tensor3D, ms: Tensor3D) =>
      tf.tidy(() => {
        const { content, style } = terms(mc, ms, true);
        const product = tf.mul(mc, ms);
        const penalty = tf.mul(tf.sum(tf.abs(product), [1, 2], true), penaltyScale);
        const sign = tf.sign(product);
        const gradContent = tf.addN([content.gradTop!, style.gradTop!, tf.mul(tf.mul(sign, ms), penaltyScale)]);
        const gradStyle = tf.addN([content.gradBottom!, style.gradBottom!, tf.mul(tf.mul(sign, mc), penaltyScale)]);
        const loss = tf.reshape(tf.addN([content.error, style.error, penalty]), [B]) as TF.Tensor1D;
        return { loss, gradContent, gradStyle };
      });

    // Coefficients and Adam moments are column vectors [B, in, 1].
    let mContent = tf.fill([B, n, 1], settings.start[0]) as Tensor3D;
    let mStyle = tf.fill([B, n, 1], settings.start[1]) as Tensor3D;
    let moments = [tf.zeros([B, n, 1]), tf.zeros([B, n, 1]), tf.zeros([B, n, 1]), tf.zeros([B, n, 1])] as Tensor3D[];
    const losses: TF.Tensor1D[] = [];
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
      if (step % 5 === 0 || step === settings.steps) await onSteps(step);
    }
    tf.dispose(moments);

    // Measures: fidelity at the result and at the direct merge's weights, and the per-column forms.
    const measured = tf.tidy(() => {
      const final = terms(mContent, mStyle, false);
      const penalty = tf.mul(tf.sum(tf.abs(tf.mul(mContent, mStyle)), [1, 2], true), penaltyScale);
      const [wc, ws] = settings.directWeights;
      // With no steps from the direct weights the result is the direct merge: measure it once.
      const atDirect = settings.steps === 0 && settings.start[0] === wc && settings.start[1] === ws;
      const direct = atDirect ? final : terms(tf.fill([B, n, 1], wc) as Tensor3D, tf.fill([B, n, 1], ws) as Tensor3D, false);
      const scalars = tf.concat([tf.addN([final.content.error, final.style.error, penalty]), final.content.error, final.style.error, direct.content.error, direct.style.error], 2);
      // Column j of ΔW_c is B̃_c·a_c,j, so ⟨c_j, s_j⟩ = a_c,jᵀ·G_cs·a_s,j and ‖c_j‖² = a_c,jᵀ·G_cc·a_c,j.
      const rowSums = (x: TF.Tensor) => tf.sum(x, 2, true);
      const columns = tf.concat(
        [
          rowSums(tf.mul(tf.matMul(downContentT, gramCross), downStyleT)),
          rowSums(tf.mul(tf.matMul(downContentT, gramContent), downContentT)),
          rowSums(tf.mul(tf.matMul(downStyleT, gramStyle), downStyleT)),
          mContent,
          mStyle,
        ],
        2,
      );
      return { scalars, columns };
    });
    const lossTable = losses.length ? tf.stack(losses, 1) : undefined;
    const [scalarValues, columnValues, lossValues] = await Promise.all([measured.scalars.data(), measured.columns.data(), lossTable?.data() ?? Promise.resolve(new Float32Array(0))]);
    tf.dispose([measured.scalars, measured.columns, ...(lossTable ? [lossTable] : []), ...losses, mContent, mStyle]);
    return layers.map((_, i) => {
      const column = (k: number) => Float32Array.from({ length: n }, (_, j) => columnValues[(i * n + j) * 5 + k]);
      const scalar = (k: number) => scalarValues[i * 5 + k];
      const history = lossValues.slice(i * settings.steps, (i + 1) * settings.steps);
      const allLosses = new Float32Array(settings.steps + 1);
      allLosses.set(history);
      allLosses[settings.steps] = scalar(0);
      return {
        mContent: column(3),
        mStyle: column(4),
        losses: allLosses,
        contentError: scalar(1),
        styleError: scalar(2),
        directContentError: scalar(3),
        directStyleError: scalar(4),
        columnInner: column(0),
        columnContentSquares: column(1),
        columnStyleSquares: column(2),
      };
    });
  } finally {
    tf.dispose(owned);
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
