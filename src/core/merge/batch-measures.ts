/**
 * The measures of a solved batch (docs/merge-method.md §6): fidelity at the result and at the direct merge's weights, the
 * per-column forms the report and charts use, and the loss history, read back from the backend once.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { fidelityTerms, penalty, PreparedBatch, Tensor3D } from './batch-tensors';
import { SolverName } from './types';

/** The measures of one layer's coefficients. */
export interface LayerMeasures {
  readonly mContent: Float32Array;
  readonly mStyle: Float32Array;
  /** Loss before each step (iteration), then the final loss: steps + 1 values. */
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

/** How the solver got there. */
export interface SolverStats {
  readonly solver: SolverName;
  /** Adam steps, or Newton iterations. */
  readonly iterations: number;
  /** Gradient-equivalents used: gradient evaluations plus Hessian-vector products (each costs one gradient). */
  readonly evaluations: number;
  /** ‖P(m − ∇L) − m‖₂ at the result (P: projection onto [0, 1]); 0 exactly at the box-constrained optimum. */
  readonly projectedGradientNorm: number;
  /** The solver stopped on its tolerance (always false for Adam, which runs its steps). */
  readonly converged: boolean;
}

/** Everything the merge needs of a solved layer; the report is assembled from it in layer-report.ts. */
export interface LayerResult extends LayerMeasures, SolverStats {}

export interface MeasureSettings {
  /** Weights of the direct merge the result is compared with. */
  readonly directWeights: readonly [number, number];
  /** True when the coefficients are the direct weights themselves (no step taken): measured once. */
  readonly atDirect: boolean;
}

/** Measures coefficients (m_c, m_s) of a batch; `losses` holds one [B] loss per step taken, in order. */
export async function measureBatch(p: PreparedBatch, mContent: Tensor3D, mStyle: Tensor3D, losses: readonly TF.Tensor1D[], settings: MeasureSettings): Promise<LayerMeasures[]> {
  const { tf, size: B, inFeatures: n } = p;
  const measured = tf.tidy(() => {
    const final = fidelityTerms(p, mContent, mStyle, false);
    const [wc, ws] = settings.directWeights;
    const direct = settings.atDirect ? final : fidelityTerms(p, tf.fill([B, n, 1], wc) as Tensor3D, tf.fill([B, n, 1], ws) as Tensor3D, false);
    const scalars = tf.concat([tf.addN([final.content.error, final.style.error, penalty(p, mContent, mStyle)]), final.content.error, final.style.error, direct.content.error, direct.style.error], 2);
    // Column j of ΔW_c is B̃_c·a_c,j, so ⟨c_j, s_j⟩ = a_c,jᵀ·G_cs·a_s,j and ‖c_j‖² = a_c,jᵀ·G_cc·a_c,j.
    const rowSums = (x: TF.Tensor) => tf.sum(x, 2, true);
    const columns = tf.concat(
      [
        rowSums(tf.mul(tf.matMul(p.downContentT, p.gramCross), p.downStyleT)),
        rowSums(tf.mul(tf.matMul(p.downContentT, p.gramContent), p.downContentT)),
        rowSums(tf.mul(tf.matMul(p.downStyleT, p.gramStyle), p.downStyleT)),
        mContent,
        mStyle,
      ],
      2,
    );
    return { scalars, columns };
  });
  const steps = losses.length;
  const lossTable = steps ? tf.stack(losses as TF.Tensor1D[], 1) : undefined;
  const [scalarValues, columnValues, lossValues] = await Promise.all([measured.scalars.data(), measured.columns.data(), lossTable?.data() ?? Promise.resolve(new Float32Array(0))]);
  tf.dispose([measured.scalars, measured.columns, ...(lossTable ? [lossTable] : [])]);
  return Array.from({ length: B }, (_, i) => {
    const column = (k: number) => Float32Array.from({ length: n }, (_, j) => columnValues[(i * n + j) * 5 + k]);
    const scalar = (k: number) => scalarValues[i * 5 + k];
    const allLosses = new Float32Array(steps + 1);
    allLosses.set(lossValues.slice(i * steps, (i + 1) * steps));
    allLosses[steps] = scalar(0);
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
}
