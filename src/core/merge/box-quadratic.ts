/**
 * The ZipLoRA objective of a batch as the quadratic it is on the box (docs/merge-method.md §2): with m ≥ 0 the penalty
 * λ·mean|m_c·m_s| is the bilinear λ/n·Σ m_c·m_s, so L is ½·xᵀQx + bᵀx + c in x = (m_c, m_s). The two fidelity
 * terms are fused into one R × R residual: with A = [A_c; A_s] (R × in) and W(x) = [A_c·diag(m_c); A_s·diag(m_s)],
 *   Z = [W(x − e_c)·A_cᵀ, W(x − e_s)·A_sᵀ],   fidelity = tr(Zᵀ·G·Z·Ĥ),   Ĥ = blockdiag(H_c/N_c, H_s/N_s),
 * and its gradient is 2·(A ⊙ G·Z·Ĥ·A) summed over each LoRA's rows. A Hessian-vector product is the same
 * computation without the offsets e_c, e_s (the gradient of the homogeneous part), so it costs one gradient:
 * 2·R²·in multiply-adds, never out × in. Coefficients are [B, 2, in]: row 0 is m_c, row 1 is m_s.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { PreparedBatch, Tensor3D } from './batch-tensors';

export interface BoxQuadratic {
  readonly tf: typeof TF;
  readonly size: number;
  readonly inFeatures: number;
  /** A (R × in) and Aᵀ split by LoRA: in × r_c and in × r_s. */
  readonly down: Tensor3D;
  readonly downContentT: Tensor3D;
  readonly downStyleT: Tensor3D;
  readonly downT: Tensor3D;
  /** S (R × 2): row a selects m_c for a < r_c, m_s after; Sᵀ sums a gradient's rows per LoRA. */
  readonly select: Tensor3D;
  readonly selectT: Tensor3D;
  readonly gram: Tensor3D;
  readonly weightedH: Tensor3D;
  /** e_c and e_s as [1, 2, 1]: x − e_c is (m_c − 1, m_s). */
  readonly offsetContent: Tensor3D;
  readonly offsetStyle: Tensor3D;
  /** λ / in. */
  readonly penaltyScale: number;
  dispose(): void;
}

/** Builds the fused tensors from a prepared batch (which keeps ownership of its own tensors). */
export function boxQuadratic(p: PreparedBatch): BoxQuadratic {
  const { tf, size: B, inFeatures: n, rankContent: rc, rankStyle: rs } = p;
  const R = rc + rs;
  const tensors = tf.tidy(() => {
    const selection = new Float32Array(B * R * 2);
    for (let b = 0; b < B; b++) for (let a = 0; a < R; a++) selection[(b * R + a) * 2 + (a < rc ? 0 : 1)] = 1;
    const select = tf.tensor3d(selection, [B, R, 2]);
    const zeros = (rows: number, cols: number) => tf.zeros([B, rows, cols]);
    const weightedH = tf.concat(
      [tf.concat([tf.mul(p.gramContent, p.invNormContent), zeros(rc, rs)], 2), tf.concat([zeros(rs, rc), tf.mul(p.gramStyle, p.invNormStyle)], 2)],
      1,
    ) as Tensor3D;
    return {
      down: tf.concat([p.downContent, p.downStyle], 1) as Tensor3D,
      downT: tf.concat([p.downContentT, p.downStyleT], 2) as Tensor3D,
      select,
      selectT: tf.transpose(select, [0, 2, 1]) as Tensor3D,
      weightedH,
      offsetContent: tf.tensor3d([1, 0], [1, 2, 1]),
      offsetStyle: tf.tensor3d([0, 1], [1, 2, 1]),
    };
  });
  return {
    tf,
    size: B,
    inFeatures: n,
    downContentT: p.downContentT,
    downStyleT: p.downStyleT,
    gram: p.gram,
    penaltyScale: p.penaltyScale,
    ...tensors,
    dispose: () => tf.dispose(Object.values(tensors)),
  };
}

/** Σ over the coefficient axes: one value per layer, [B, 1, 1]. */
export const perLayer = (tf: typeof TF, x: TF.Tensor) => tf.sum(x, [1, 2], true) as Tensor3D;

/** tr(Zᵀ·G·Z·Ĥ) and its gradient with respect to the row weights of W, reduced to [B, 2, in]. */
function fidelity(q: BoxQuadratic, z: Tensor3D): { value: Tensor3D; gradient: Tensor3D } {
  const { tf } = q;
  const t = tf.matMul(tf.matMul(q.gram, z), q.weightedH);
  const gradW = tf.matMul(t, q.down);
  return { value: perLayer(tf, tf.mul(z, t)), gradient: tf.mul(tf.matMul(q.selectT, tf.mul(q.down, gradW)), 2) as Tensor3D };
}

/** The rows of W(w) = [A_c·diag(w_0); A_s·diag(w_1)] for w of shape [B, 2, in]. */
const weightedDown = (q: BoxQuadratic, w: TF.Tensor) => q.tf.mul(q.down, q.tf.matMul(q.select, w));

/** L(x) per layer ([B, 1, 1]) and ∇L(x) ([B, 2, in]), with the bilinear penalty. */
export function lossAndGradientAt(q: BoxQuadratic, x: Tensor3D): { loss: Tensor3D; gradient: Tensor3D } {
  const { tf } = q;
  return tf.tidy(() => {
    // Offsets applied per coefficient (m − 1), not to the product: no cancellation between large terms.
    const z = tf.concat([tf.matMul(weightedDown(q, tf.sub(x, q.offsetContent)), q.downContentT), tf.matMul(weightedDown(q, tf.sub(x, q.offsetStyle)), q.downStyleT)], 2) as Tensor3D;
    const { value, gradient } = fidelity(q, z);
    const swapped = tf.reverse(x, 1);
    return {
      loss: tf.add(value, tf.mul(perLayer(tf, tf.mul(x, swapped)), q.penaltyScale / 2)) as Tensor3D,
      gradient: tf.add(gradient, tf.mul(swapped, q.penaltyScale)) as Tensor3D,
    };
  });
}

/** Q·d: the gradient of the objective's homogeneous quadratic part at d. */
export function hessianProduct(q: BoxQuadratic, d: Tensor3D): Tensor3D {
  const { tf } = q;
  return tf.tidy(() => tf.add(fidelity(q, tf.matMul(weightedDown(q, d), q.downT) as Tensor3D).gradient, tf.mul(tf.reverse(d, 1), q.penaltyScale)) as Tensor3D);
}

/**
 * diag(Q), [B, 2, in]: for m_c,j it is 2·(a_c,jᵀ·G_cc·a_c,j)·(a_jᵀ·Ĥ·a_j) — the column's squared norm in ΔW_c
 * times its weight in both terms — likewise for m_s,j. The penalty adds nothing to the diagonal.
 */
export function hessianDiagonal(q: BoxQuadratic, rankContent: number): Tensor3D {
  const { tf, size: B } = q;
  return tf.tidy(() => {
    const R = q.down.shape[1];
    const blockMask = new Float32Array(R * R).map((_, k) => (Math.floor(k / R) < rankContent === k % R < rankContent ? 1 : 0));
    const ownGram = tf.mul(q.gram, tf.tensor3d(blockMask, [1, R, R]));
    const columnNorms = tf.matMul(q.selectT, tf.mul(tf.matMul(ownGram, q.down), q.down));
    const weights = tf.sum(tf.mul(tf.matMul(q.weightedH, q.down), q.down), 1, true);
    return tf.reshape(tf.mul(tf.mul(columnNorms, weights), 2), [B, 2, q.inFeatures]) as Tensor3D;
  });
}

/** ‖P(x − g) − x‖₂ per layer ([B, 1, 1]): zero exactly at a solution of the box-constrained problem. */
export function projectedGradientNorm(q: BoxQuadratic, x: Tensor3D, gradient: Tensor3D): Tensor3D {
  const { tf } = q;
  return tf.tidy(() => tf.sqrt(perLayer(tf, tf.square(tf.sub(tf.clipByValue(tf.sub(x, gradient), 0, 1), x)))) as Tensor3D);
}
