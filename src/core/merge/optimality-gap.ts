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
 * Tighter (cornerBoundColumns): keep the penalty's convex envelope instead of linearising it. The slack above
 * loses m(1 − m)/2 even where another coefficient of the column sits on a bound and the envelope loses nothing.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { Tensor3D } from './batch-tensors';
import { perLayer } from './box-quadratic';

export type { StopReason } from './types';

/**
 * Stop a layer once its certificate is ≤ this × L(x): then L(x) ≤ L* ÷ (1 − 0.02) < 1.0205·L*, inside the
 * 1.05 × optimum bar. At λ > 0 the bound itself stays about 1.5 % of L at the optimum on the measured pairs (the
 * convex relaxation of the penalty is what it cannot prove), so a 1 % stop would leave those layers to the
 * projected-gradient tolerance and its far larger evaluation counts (docs/benchmarks.md, "Certificate stop").
 */
export const DEFAULT_GAP_FRACTION = 0.02;

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

/** Beyond this many inputs (2^N corners per column) the certificate uses the shifted bound. */
export const MAX_CORNER_INPUTS = 6;

/**
 * The corners bound per column, [B, 1, in]: the fidelity F linearised at x (F is convex, so it lies above its
 * tangent) plus the penalty's convex envelope, minimised over the box. The penalty Σ_{i<k} m_i·m_k is multilinear,
 * so its envelope is fixed by its values at the corners, and the minimum of a linear function plus that envelope
 * lies at a corner c ∈ {0, 1}^N:
 *   L(x) − L* ≤ Σ_columns [∇Fᵀx + (λ/in)·P(x) − min_c (∇Fᵀc + (λ/in)·P(c))],   ∇F = ∇L − (λ/in)·Σ_{k≠i} m_k.
 * It is never above the shifted bound: the envelope is the largest convex underestimator of the
 * penalty, and the exact minimum over the box is at least a Frank–Wolfe estimate of it. At λ = 0 it is the
 * Frank–Wolfe gap. 2^N corners per column: for up to MAX_CORNER_INPUTS inputs. Unlike the Frank–Wolfe sum, a
 * column's term is a difference of sums of N ≤ 6 values: float32 may round it, never by much next to the 2 % stop.
 */
export function cornerBoundColumns(tf: typeof TF, x: TF.Tensor, gradient: TF.Tensor, penaltyScale: number): TF.Tensor {
  return tf.tidy(() => {
    const N = x.shape[1]!;
    const total = tf.sum(x, 1, true);
    const fidelityGradient = tf.sub(gradient, tf.mul(tf.sub(total, x), penaltyScale));
    const rows = tf.split(fidelityGradient, N, 1);
    const pairs = tf.mul(tf.sub(tf.square(total), tf.sum(tf.square(x), 1, true)), 0.5);
    const atX = tf.add(tf.sum(tf.mul(fidelityGradient, x), 1, true), tf.mul(pairs, penaltyScale));
    let lowest: TF.Tensor = tf.zerosLike(total);
    for (let corner = 1; corner < 2 ** N; corner++) {
      const members = rows.filter((_, i) => (corner >> i) & 1);
      const k = members.length;
      const value = tf.add(k === 1 ? members[0] : tf.addN(members), (penaltyScale * k * (k - 1)) / 2);
      lowest = tf.minimum(lowest, value);
    }
    return tf.relu(tf.sub(atX, lowest));
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
    if (x.shape[1] <= MAX_CORNER_INPUTS) return perLayer(tf, cornerBoundColumns(tf, x, gradient, penaltyScale));
    return perLayer(tf, shiftedBoundColumns(tf, x, gradient, penaltyScale));
  });
}

/** Whether a layer's certificate proves it within the fraction of the optimum: gap ≤ fraction · L(x). */
export const certified = (gap: number, loss: number, fraction: number) => fraction > 0 && gap <= fraction * loss;
