/**
 * A certificate of optimality for the box-constrained quadratic of box-quadratic.ts (docs/merge-method.md §3,
 * "Stopping on a certificate"): an upper bound on L(x) − L*, L* the smallest value of L anywhere on the box,
 * from the gradient the solver already has.
 *
 * Convex case (λ = 0): the Frank–Wolfe gap ∇L(x)ᵀ(x − y), y the box corner minimising the linear model, bounds
 * L(x) − L* because L lies above its tangent plane. Coordinate by coordinate the term is g·x for g ≥ 0 (y = 0)
 * and −g·(1 − x) for g < 0 (y = 1): every term is ≥ 0, so the sum has no cancellation.
 *
 * With λ > 0 the penalty's Hessian is indefinite, and L is in general not convex (convexity below). On the box
 * x² ≤ x, so L_u(x) = L(x) − (λ/2in)·Σ x(1 − x) ≤ L(x), and L_u is convex: its Hessian is the fidelity part plus
 * λ/in per column times the all-ones N × N matrix. Hence L* ≥ L_u* ≥ L_u(x) − gap_u(x), and
 *   L(x) − L* ≤ gap_u(x) + (λ/2in)·Σ x(1 − x),   ∇L_u = ∇L + (λ/in)·(x − ½),
 * a true bound whatever the curvature; the second term vanishes at the box's corners. At λ = 0 it is the
 * Frank–Wolfe gap itself.
 *
 * A second underestimator replaces each bilinear term by its convex envelope on [0, 1]² (McCormick):
 * m_i·m_k ≥ max(0, m_i + m_k − 1), which loses min(m_i·m_k, (1 − m_i)(1 − m_k)): nothing where either coefficient
 * sits on a bound, where the first one still loses m(1 − m)/2 for the other. Both underestimators are sums over
 * columns of a convex penalty, so one may pick either per column and the result is still a convex
 * underestimator of L; its bound (slack plus Frank–Wolfe gap, the latter with a subgradient) is a sum of
 * per-column terms, so the certificate takes the smaller of the two column by column.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { Tensor3D } from './batch-tensors';
import { perLayer } from './box-quadratic';

export type { StopReason } from './types';

/**
 * Stop a layer once its certificate is ≤ this × L(x): then L(x) ≤ L* ÷ (1 − 0.01) < 1.0102·L*, well inside the
 * 1.05 × optimum bar, and a layer stops as soon as that is proven instead of at the caps.
 */
export const DEFAULT_GAP_FRACTION = 0.01;

/**
 * Whether L is convex on the box (a quadratic is convex on a full-dimensional box iff its Hessian is PSD):
 * `convex` at λ = 0 (a least-squares term); `non-convex` when λ > 0 and (N − 1)·in > R². The fidelity Hessian is
 * JᵀJ with J mapping x to the R × R products of W(x)·Aᵀ, so its rank is at most R²; the penalty's Hessian is
 * −λ/in on the (N − 1)·in-dimensional space of columns whose N coefficients sum to 0, which then meets the
 * fidelity Hessian's null space: along such a direction the curvature is −λ/in·‖d‖². Otherwise `unproven`: the
 * exact test would need the smallest eigenvalue of an N·in × N·in matrix; the certificate above does not need it.
 */
export type Convexity = 'convex' | 'non-convex' | 'unproven';

export function convexity(inFeatures: number, ranks: readonly number[], lambda: number): Convexity {
  if (lambda === 0) return 'convex';
  const R = ranks.reduce((a, r) => a + r, 0);
  return (ranks.length - 1) * inFeatures > R * R ? 'non-convex' : 'unproven';
}

/** Σ over the inputs' axis of the Frank–Wolfe terms for subgradient g: one value per column, [B, 1, in]. */
function wolfeColumns(tf: typeof TF, x: TF.Tensor, g: TF.Tensor): TF.Tensor {
  return tf.sum(tf.add(tf.mul(tf.relu(g), x), tf.mul(tf.relu(tf.neg(g)), tf.sub(1, x))), 1, true);
}

/** The first underestimator's bound per column: gap_u plus (λ/2in)·Σ x(1 − x). */
export function shiftedBoundColumns(tf: typeof TF, x: TF.Tensor, gradient: TF.Tensor, penaltyScale: number): TF.Tensor {
  return tf.tidy(() => {
    const g = tf.add(gradient, tf.mul(tf.sub(x, 0.5), penaltyScale));
    return tf.add(wolfeColumns(tf, x, g), tf.mul(tf.sum(tf.mul(x, tf.sub(1, x)), 1, true), penaltyScale / 2));
  });
}

/**
 * The envelope's bound per column: (λ/in)·Σ_{i<k} min(m_i·m_k, (1 − m_i)(1 − m_k)) plus the Frank–Wolfe gap of
 * a subgradient, ∇L − (λ/in)·Σ_{k≠i} m_k + (λ/in)·#{k ≠ i : m_i + m_k > 1}.
 */
export function envelopeBoundColumns(tf: typeof TF, x: TF.Tensor, gradient: TF.Tensor, penaltyScale: number): TF.Tensor {
  return tf.tidy(() => {
    const [B, N, n] = x.shape;
    const rows = tf.reshape(x, [B, N, 1, n]);
    const cols = tf.reshape(x, [B, 1, N, n]);
    // All ordered pairs, the diagonal (i = k) taken out after: each unordered pair then counts twice.
    const above = tf.cast(tf.greater(tf.add(rows, cols), 1), 'float32');
    const lost = tf.minimum(tf.mul(rows, cols), tf.mul(tf.sub(1, rows), tf.sub(1, cols)));
    const selfAbove = tf.cast(tf.greater(x, 0.5), 'float32');
    const selfLost = tf.minimum(tf.square(x), tf.square(tf.sub(1, x)));
    const countAbove = tf.sub(tf.reshape(tf.sum(above, 2), [B, N, n]), selfAbove);
    const others = tf.sub(tf.sum(x, 1, true), x);
    const g = tf.add(gradient, tf.mul(tf.sub(countAbove, others), penaltyScale));
    const slack = tf.sub(tf.reshape(tf.sum(lost, [1, 2]), [B, 1, n]), tf.sum(selfLost, 1, true));
    return tf.add(wolfeColumns(tf, x, g), tf.mul(slack, penaltyScale / 2));
  });
}

/**
 * The certificate per layer, [B, 1, 1], for coefficients `x` ([B, N, in]: row i is m_i) and the gradient of L
 * at x, in the same layout.
 * `penaltyScale` is λ/in.
 */
export function optimalityGap(tf: typeof TF, x: Tensor3D, gradient: Tensor3D, penaltyScale: number): Tensor3D {
  return tf.tidy(() => {
    if (penaltyScale === 0) return perLayer(tf, wolfeColumns(tf, x, gradient));
    return perLayer(tf, tf.minimum(shiftedBoundColumns(tf, x, gradient, penaltyScale), envelopeBoundColumns(tf, x, gradient, penaltyScale)));
  });
}

/** Whether a layer's certificate proves it within the fraction of the optimum: gap ≤ fraction · L(x). */
export const certified = (gap: number, loss: number, fraction: number) => fraction > 0 && gap <= fraction * loss;
