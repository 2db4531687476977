/**
 * The N-way ZipLoRA objective of a batch as the quadratic it is on the box (docs/merge-method.md §2): with m ≥ 0
 * the penalty λ·mean_j Σ_{i<k} |m_i·m_k| is the bilinear λ/n·Σ_j Σ_{i<k} m_i·m_k, so L is ½·xᵀQx + bᵀx + c in
 * x = (m_1, …, m_N). The N fidelity terms are fused into one R × R residual: with A = [A_1; …; A_N] (R × in) and
 * W(x) = [A_1·diag(m_1); …; A_N·diag(m_N)],
 *   Z = [W(x − e_1)·A_1ᵀ, …, W(x − e_N)·A_Nᵀ],   fidelity = tr(Zᵀ·G·Z·Ĥ),   Ĥ = blockdiag(H_i/N_i),
 * and its gradient is 2·(A ⊙ G·Z·Ĥ·A) summed over each input's rows. A Hessian-vector product is the same
 * computation without the offsets e_i (the gradient of the homogeneous part), so it costs one gradient:
 * 2·R²·in multiply-adds, never out × in. Coefficients are [B, N, in]: row i is m_i.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { PreparedBatch, Tensor3D } from './batch-tensors';

export interface BoxQuadratic {
  readonly tf: typeof TF;
  readonly size: number;
  readonly inFeatures: number;
  /** Inputs (rows of the coefficients). */
  readonly count: number;
  /** A (R × in), Aᵀ (in × R), and A and Aᵀ split by input (r_i × in, in × r_i). */
  readonly down: Tensor3D;
  readonly downT: Tensor3D;
  readonly downs: readonly Tensor3D[];
  readonly downsT: readonly Tensor3D[];
  /** H_i = s_i²·B_iᵀB_i, the diagonal blocks of the Gram, and 1/N_i per input ([B, 1, 1]). */
  readonly ownGrams: readonly Tensor3D[];
  readonly invNorms: readonly Tensor3D[];
  /** S (R × N): row a selects the coefficients of the input that owns row a; Sᵀ sums a gradient's rows per input. */
  readonly select: Tensor3D;
  readonly selectT: Tensor3D;
  readonly gram: Tensor3D;
  readonly weightedH: Tensor3D;
  /** e_i as [1, N, 1]: x − e_i is m_i − 1 in row i, the others unchanged. */
  readonly offsets: readonly Tensor3D[];
  /** J − I (N × N) per layer: (J − I)·x sums the other inputs' coefficients, the penalty's gradient. */
  readonly others: Tensor3D;
  /** λ / in. */
  readonly penaltyScale: number;
  dispose(): void;
}

/** Builds the fused tensors from a prepared batch (which keeps ownership of its own tensors). */
export function boxQuadratic(p: PreparedBatch): BoxQuadratic {
  const { tf, size: B, inFeatures: n, ranks } = p;
  const N = ranks.length;
  const R = ranks.reduce((a, r) => a + r, 0);
  const owner = ranks.flatMap((r, i) => new Array<number>(r).fill(i));
  const tensors = tf.tidy(() => {
    const selection = new Float32Array(B * R * N);
    for (let b = 0; b < B; b++) for (let a = 0; a < R; a++) selection[(b * R + a) * N + owner[a]] = 1;
    const select = tf.tensor3d(selection, [B, R, N]);
    const zeros = (rows: number, cols: number) => tf.zeros([B, rows, cols]);
    // blockdiag(H_i / N_i): row block i is [0 … H_i/N_i … 0].
    const weightedH = tf.concat(
      ranks.map((r, i) =>
        tf.concat(
          ranks.map((c, k) => (k === i ? tf.mul(p.ownGrams[i], p.invNorms[i]) : zeros(r, c))),
          2,
        ),
      ),
      1,
    ) as Tensor3D;
    const otherValues = new Float32Array(B * N * N);
    for (let b = 0; b < B; b++) for (let i = 0; i < N; i++) for (let k = 0; k < N; k++) otherValues[(b * N + i) * N + k] = i === k ? 0 : 1;
    return {
      down: tf.concat(p.downs as Tensor3D[], 1) as Tensor3D,
      downT: tf.concat(p.downsT as Tensor3D[], 2) as Tensor3D,
      select,
      selectT: tf.transpose(select, [0, 2, 1]) as Tensor3D,
      weightedH,
      offsets: ranks.map((_, i) => tf.tensor3d(ranks.map((__, k) => (k === i ? 1 : 0)), [1, N, 1])),
      others: tf.tensor3d(otherValues, [B, N, N]),
    };
  });
  return {
    tf,
    size: B,
    inFeatures: n,
    count: N,
    downs: p.downs,
    downsT: p.downsT,
    ownGrams: p.ownGrams,
    invNorms: p.invNorms,
    gram: p.gram,
    penaltyScale: p.penaltyScale,
    ...tensors,
    dispose: () => tf.dispose([tensors.down, tensors.downT, tensors.select, tensors.selectT, tensors.weightedH, tensors.others, ...tensors.offsets]),
  };
}

/** Σ over the coefficient axes: one value per layer, [B, 1, 1]. */
export const perLayer = (tf: typeof TF, x: TF.Tensor) => tf.sum(x, [1, 2], true) as Tensor3D;

/** tr(Zᵀ·G·Z·Ĥ) and its gradient with respect to the row weights of W, reduced to [B, N, in]. */
function fidelity(q: BoxQuadratic, z: Tensor3D): { value: Tensor3D; gradient: Tensor3D } {
  const { tf } = q;
  const t = tf.matMul(tf.matMul(q.gram, z), q.weightedH);
  const gradW = tf.matMul(t, q.down);
  return { value: perLayer(tf, tf.mul(z, t)), gradient: tf.mul(tf.matMul(q.selectT, tf.mul(q.down, gradW)), 2) as Tensor3D };
}

/** The rows of W(w) = [A_1·diag(w_1); …; A_N·diag(w_N)] for w of shape [B, N, in]. */
const weightedDown = (q: BoxQuadratic, w: TF.Tensor) => q.tf.mul(q.down, q.tf.matMul(q.select, w));

/** Σ_{k≠i} x_k for every row i ([B, N, in]): the bilinear penalty's gradient, up to λ/in. */
const otherSums = (q: BoxQuadratic, x: TF.Tensor) => q.tf.matMul(q.others, x);

/** L(x) per layer ([B, 1, 1]) and ∇L(x) ([B, N, in]), with the bilinear penalty. */
export function lossAndGradientAt(q: BoxQuadratic, x: Tensor3D): { loss: Tensor3D; gradient: Tensor3D } {
  const { tf } = q;
  return tf.tidy(() => {
    // Offsets applied per coefficient (m − 1), not to the product: no cancellation between large terms.
    const z = tf.concat(
      q.offsets.map((offset, i) => tf.matMul(weightedDown(q, tf.sub(x, offset)), q.downsT[i])),
      2,
    ) as Tensor3D;
    const { value, gradient } = fidelity(q, z);
    const others = otherSums(q, x);
    // Σ_j Σ_i x_i·Σ_{k≠i} x_k counts every pair twice.
    return {
      loss: tf.add(value, tf.mul(perLayer(tf, tf.mul(x, others)), q.penaltyScale / 2)) as Tensor3D,
      gradient: tf.add(gradient, tf.mul(others, q.penaltyScale)) as Tensor3D,
    };
  });
}

/** Q·d: the gradient of the objective's homogeneous quadratic part at d. */
export function hessianProduct(q: BoxQuadratic, d: Tensor3D): Tensor3D {
  const { tf } = q;
  return tf.tidy(() => tf.add(fidelity(q, tf.matMul(weightedDown(q, d), q.downT) as Tensor3D).gradient, tf.mul(otherSums(q, d), q.penaltyScale)) as Tensor3D);
}

/**
 * diag(Q), [B, N, in]: for m_i,j it is 2·(a_i,jᵀ·H_i·a_i,j)·(a_jᵀ·Ĥ·a_j) — the column's squared norm in ΔW_i
 * times its weight in every term, and that weight is Σ_k (a_k,jᵀ·H_k·a_k,j)/N_k: the same per-input column
 * norms, so one r_i × r_i by r_i × in product per input gives both. The penalty adds nothing to the diagonal.
 */
export function hessianDiagonal(q: BoxQuadratic): Tensor3D {
  const { tf } = q;
  return tf.tidy(() => {
    const columnNorms = q.downs.map((down, i) => tf.sum(tf.mul(tf.matMul(q.ownGrams[i], down), down), 1, true));
    const weights = tf.addN(columnNorms.map((norms, i) => tf.mul(norms, q.invNorms[i])));
    return tf.mul(tf.concat(columnNorms, 1), tf.mul(weights, 2)) as Tensor3D;
  });
}

/** ‖P(x − g) − x‖₂ per layer ([B, 1, 1]): zero exactly at a solution of the box-constrained problem. */
export function projectedGradientNorm(q: BoxQuadratic, x: Tensor3D, gradient: Tensor3D): Tensor3D {
  const { tf } = q;
  return tf.tidy(() => tf.sqrt(perLayer(tf, tf.square(tf.sub(tf.clipByValue(tf.sub(x, gradient), 0, 1), x)))) as Tensor3D);
}
