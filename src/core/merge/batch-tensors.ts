/**
 * A batch of layers of equal (in, r_c, r_s) as tensors on a compute backend, and the ZipLoRA objective on it:
 * loss and analytic gradient per layer (tested against a float64 reference, docs/merge-method.md §2). Every product goes through thin
 * matrices (R × in, R × r, R × out), never out × in.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { LayerInput } from './types';

export type Tensor3D = TF.Tensor3D;

/** The tensors of one batch that every evaluation reuses; `dispose` frees them all. */
export interface PreparedBatch {
  readonly tf: typeof TF;
  /** Layers in the batch. */
  readonly size: number;
  readonly inFeatures: number;
  readonly rankContent: number;
  readonly rankStyle: number;
  /** A_c (r_c × in) and A_s (r_s × in) per layer, and their transposes (in × r). */
  readonly downContent: Tensor3D;
  readonly downStyle: Tensor3D;
  readonly downContentT: Tensor3D;
  readonly downStyleT: Tensor3D;
  /** G = B̃ᵀB̃ (R × R) and its content, style and cross blocks. */
  readonly gram: Tensor3D;
  readonly gramContent: Tensor3D;
  readonly gramStyle: Tensor3D;
  readonly gramCross: Tensor3D;
  /** 1/N per fidelity term (0 for a layer whose delta is zero). */
  readonly invNormContent: Tensor3D;
  readonly invNormStyle: Tensor3D;
  /** λ / in: the penalty is λ·mean|m_c·m_s|. */
  readonly penaltyScale: number;
  dispose(): void;
}

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

/** G = B̃ᵀB̃ with B̃ = [s_c·B_c, s_s·B_s] ([B, R, R]): the up factors enter the objective only through this Gram. */
function upGram(tf: typeof TF, layers: readonly LayerInput[]): Tensor3D {
  const R = layers[0].content.rank + layers[0].style.rank;
  const out = Math.max(...layers.map((l) => l.content.outFeatures));
  const upT = stack(
    tf,
    layers.map((l) => [
      { values: l.content.upTransposed, rowLength: l.content.outFeatures, scale: l.content.scale },
      { values: l.style.upTransposed, rowLength: l.style.outFeatures, scale: l.style.scale },
    ]),
    R,
    out,
  );
  try {
    return tf.tidy(() => tf.matMul(upT, tf.transpose(upT, [0, 2, 1])) as Tensor3D);
  } finally {
    upT.dispose();
  }
}

/** 1/N with N = ‖ΔW·ΔWᵀ‖² = tr((A·Aᵀ·H)²); a layer with a zero delta has no fidelity term (weight 0, not 1/0). */
function inverseFidelityNorm(tf: typeof TF, down: Tensor3D, downT: Tensor3D, h: Tensor3D): Tensor3D {
  return tf.tidy(() => {
    const p = tf.matMul(tf.matMul(down, downT), h);
    const norm = tf.sum(tf.mul(p, tf.transpose(p, [0, 2, 1])), [1, 2], true);
    return tf.where(tf.greater(norm, 0), tf.div(1, norm), tf.zerosLike(norm)) as Tensor3D;
  });
}

/** Uploads a batch's factors and computes what every evaluation reuses (Grams, norms). */
export function prepareBatch(tf: typeof TF, layers: readonly LayerInput[], lambda: number): PreparedBatch {
  const B = layers.length;
  const { inFeatures: n, rank: rc } = layers[0].content;
  const rs = layers[0].style.rank;
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
    const gram = keep(upGram(tf, layers));
    const block = (r0: number, rows: number, c0: number, cols: number) => keep(tf.slice(gram, [0, r0, c0], [B, rows, cols]));
    const [gramContent, gramStyle, gramCross] = [block(0, rc, 0, rc), block(rc, rs, rc, rs), block(0, rc, rc, rs)];
    const inverseNorm = (down: Tensor3D, downT: Tensor3D, h: Tensor3D) => keep(inverseFidelityNorm(tf, down, downT, h));
    return {
      tf,
      size: B,
      inFeatures: n,
      rankContent: rc,
      rankStyle: rs,
      downContent,
      downStyle,
      downContentT,
      downStyleT,
      gram,
      gramContent,
      gramStyle,
      gramCross,
      invNormContent: inverseNorm(downContent, downContentT, gramContent),
      invNormStyle: inverseNorm(downStyle, downStyleT, gramStyle),
      penaltyScale: lambda / n,
      dispose: () => tf.dispose(owned),
    };
  } catch (error) {
    tf.dispose(owned);
    throw error;
  }
}

interface FidelityTerm {
  readonly error: TF.Tensor;
  readonly gradTop?: Tensor3D;
  readonly gradBottom?: Tensor3D;
}

/**
 * One fidelity term: Z = [A_c·diag(wTop); A_s·diag(wBottom)]·A_tᵀ, error = tr(ZᵀGZH)/N, and (unless only the
 * value is wanted) the gradient with respect to wTop and wBottom: column j is A[:, j]ᵀ·(2/N·G·Z·H·A_t)[:, j].
 */
function fidelityTerm(p: PreparedBatch, wTop: Tensor3D, wBottom: Tensor3D, targetT: Tensor3D, rt: number, h: Tensor3D, invNorm: Tensor3D, withGradient: boolean): FidelityTerm {
  const { tf, size: B, rankContent: rc, rankStyle: rs } = p;
  const zTop = tf.matMul(p.downContent, tf.mul(targetT, wTop));
  const zBottom = tf.matMul(p.downStyle, tf.mul(targetT, wBottom));
  const z = tf.concat([zTop, zBottom], 1) as Tensor3D;
  const t = tf.matMul(tf.matMul(p.gram, z), h) as Tensor3D;
  const error = tf.mul(tf.sum(tf.mul(z, t), [1, 2], true), invNorm);
  if (!withGradient) return { error };
  const yT = tf.transpose(tf.mul(t, tf.mul(invNorm, 2)), [0, 2, 1]) as Tensor3D;
  const pTop = tf.matMul(targetT, tf.slice(yT, [0, 0, 0], [B, rt, rc]));
  const pBottom = tf.matMul(targetT, tf.slice(yT, [0, 0, rc], [B, rt, rs]));
  const gradTop = tf.sum(tf.mul(p.downContentT, pTop), 2, true) as Tensor3D;
  const gradBottom = tf.sum(tf.mul(p.downStyleT, pBottom), 2, true) as Tensor3D;
  return { error, gradTop, gradBottom };
}

/** Both fidelity terms (content: ΔW_c, style: ΔW_s) at coefficients (m_c, m_s), shaped [B, in, 1]. */
export function fidelityTerms(p: PreparedBatch, mc: Tensor3D, ms: Tensor3D, withGradient: boolean): { content: FidelityTerm; style: FidelityTerm } {
  const { tf } = p;
  return {
    content: fidelityTerm(p, tf.sub(mc, 1) as Tensor3D, ms, p.downContentT, p.rankContent, p.gramContent, p.invNormContent, withGradient),
    style: fidelityTerm(p, mc, tf.sub(ms, 1) as Tensor3D, p.downStyleT, p.rankStyle, p.gramStyle, p.invNormStyle, withGradient),
  };
}

/** λ·mean|m_c·m_s| per layer, shaped [B, 1, 1]. */
export function penalty(p: PreparedBatch, mc: Tensor3D, ms: Tensor3D): TF.Tensor {
  const { tf } = p;
  return tf.mul(tf.sum(tf.abs(tf.mul(mc, ms)), [1, 2], true), p.penaltyScale);
}

/** Loss per layer (fidelity terms + λ·mean|m_c·m_s|) and its gradient; the caller disposes the results. */
export function lossAndGradient(p: PreparedBatch, mc: Tensor3D, ms: Tensor3D): { loss: TF.Tensor1D; gradContent: Tensor3D; gradStyle: Tensor3D } {
  const { tf } = p;
  return tf.tidy(() => {
    const { content, style } = fidelityTerms(p, mc, ms, true);
    const sign = tf.sign(tf.mul(mc, ms));
    const gradContent = tf.addN([content.gradTop!, style.gradTop!, tf.mul(tf.mul(sign, ms), p.penaltyScale)]) as Tensor3D;
    const gradStyle = tf.addN([content.gradBottom!, style.gradBottom!, tf.mul(tf.mul(sign, mc), p.penaltyScale)]) as Tensor3D;
    const loss = tf.reshape(tf.addN([content.error, style.error, penalty(p, mc, ms)]), [p.size]) as TF.Tensor1D;
    return { loss, gradContent, gradStyle };
  });
}
