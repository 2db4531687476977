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

/**
 * The certificate per layer, [B, 1, 1], for coefficients `x` and the gradient of L at x (any layout whose
 * axes 1 and 2 hold one layer's coefficients: [B, N, in], or one input's [B, in, 1], whose values add up).
 * `penaltyScale` is λ/in.
 */
export function optimalityGap(tf: typeof TF, x: Tensor3D, gradient: Tensor3D, penaltyScale: number): Tensor3D {
  return tf.tidy(() => {
    const g = penaltyScale > 0 ? tf.add(gradient, tf.mul(tf.sub(x, 0.5), penaltyScale)) : gradient;
    const wolfe = perLayer(tf, tf.add(tf.mul(tf.relu(g), x), tf.mul(tf.relu(tf.neg(g)), tf.sub(1, x))));
    if (penaltyScale === 0) return wolfe;
    return tf.add(wolfe, tf.mul(perLayer(tf, tf.mul(x, tf.sub(1, x))), penaltyScale / 2)) as Tensor3D;
  });
}

/** Whether a layer's certificate proves it within the fraction of the optimum: gap ≤ fraction · L(x). */
export const certified = (gap: number, loss: number, fraction: number) => fraction > 0 && gap <= fraction * loss;
