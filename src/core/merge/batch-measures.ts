/**
 * The measures of a solved batch (docs/merge-method.md §6): every input's fidelity at the result and at the
 * direct merge (m = 1: the sum of the weighted deltas), the per-column forms the report and charts use, and the
 * loss history, read back from the backend once.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { fidelityTerms, penalty, PreparedBatch, Tensor3D } from './batch-tensors';
import { inputPairs, SolverName, StopReason } from './types';

/** The measures of one layer's coefficients; arrays per input are in the layer's input order. */
export interface LayerMeasures {
  /** m_i per input (length in). */
  readonly m: Float32Array[];
  /** Loss before each step (iteration), then the final loss: steps + 1 values. */
  readonly losses: Float32Array;
  /** Input i's fidelity term at the result (relative error, docs/merge-method.md §2) … */
  readonly errors: number[];
  /** … and at the direct merge. */
  readonly directErrors: number[];
  /** ‖c_i,j‖² per input and column j (scales included). */
  readonly columnSquares: Float32Array[];
  /** ⟨c_i,j, c_k,j⟩ per pair i < k (order of inputPairs) and column j. */
  readonly columnInner: Float32Array[];
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
  /**
   * The certificate at the result: an upper bound on L(m) − L*, L* the loss's minimum on the box
   * (optimality-gap.ts).
   */
  readonly gap: number;
  /** Why the solve ended: the certificate, the projected-gradient tolerance (Newton), the caps (Adam: its steps), or a stalled search. */
  readonly stop: StopReason;
  /** The solver stopped on its certificate or its tolerance. */
  readonly converged: boolean;
}

/** One point of a layer's λ path (lambda-path.ts): Σ_i errors and the pooled overlap after the merge. */
export interface LambdaPoint {
  readonly lambda: number;
  readonly error: number;
  readonly overlap: number;
}

/** Everything the merge needs of a solved layer; the report is assembled from it in layer-report.ts. */
export interface LayerResult extends LayerMeasures, SolverStats {
  /** The λ the coefficients were solved at (with `auto`, the one chosen for this layer). */
  readonly lambda: number;
  /** With `auto` only: the layer's path, in increasing λ. */
  readonly lambdaCurve?: readonly LambdaPoint[];
}

/** A merged layer's result as the report reads it: a direct merge's has no projected gradient, gap or stop (it solves nothing). */
export type MergedLayerResult = Omit<LayerResult, 'projectedGradientNorm' | 'gap' | 'stop'> & Partial<Pick<LayerResult, 'projectedGradientNorm' | 'gap' | 'stop'>>;

export interface MeasureSettings {
  /** Coefficients of the direct merge the result is compared with, per input (1 each: the weighted sum). */
  readonly directWeights: readonly number[];
  /** True when the coefficients are the direct weights themselves (no step taken): measured once. */
  readonly atDirect: boolean;
  /**
   * Measures of the same batch at other coefficients: their direct errors and column forms, which do not depend
   * on m, are taken over instead of computed again (the λ path measures one batch several times).
   */
  readonly reuse?: readonly LayerMeasures[];
}

/** Measures coefficients m (one [B, in, 1] per input) of a batch; `losses` holds one [B] loss per step taken, in order. */
export async function measureBatch(p: PreparedBatch, m: readonly Tensor3D[], losses: readonly TF.Tensor1D[], settings: MeasureSettings): Promise<LayerMeasures[]> {
  const { tf, size: B, inFeatures: n } = p;
  const N = m.length;
  const pairs = inputPairs(N);
  const { reuse } = settings;
  const measured = tf.tidy(() => {
    const final = fidelityTerms(p, m, false);
    const direct = settings.atDirect || reuse ? final : fidelityTerms(p, settings.directWeights.map((w) => tf.fill([B, n, 1], w) as Tensor3D), false);
    const scalars = tf.concat([tf.addN([...final.map((t) => t.error), penalty(p, m)]), ...final.map((t) => t.error), ...direct.map((t) => t.error)], 2);
    // Column j of ΔW_i is B̃_i·a_i,j, so ⟨c_i,j, c_k,j⟩ = a_i,jᵀ·G_ik·a_k,j and ‖c_i,j‖² = a_i,jᵀ·G_ii·a_i,j.
    const rowSums = (x: TF.Tensor) => tf.sum(x, 2, true);
    const crossGram = (i: number, k: number) => tf.slice(p.gram, [0, p.offsets[i], p.offsets[k]], [B, p.ranks[i], p.ranks[k]]);
    const forms = reuse
      ? []
      : [
          ...pairs.map(([i, k]) => rowSums(tf.mul(tf.matMul(p.downsT[i], crossGram(i, k)), p.downsT[k]))),
          ...p.downsT.map((downT, i) => rowSums(tf.mul(tf.matMul(downT, p.ownGrams[i]), downT))),
        ];
    // Each [B, in, 1] column form is read back on its own: a concat along the last axis costs tfjs-wasm one copy
    // per row (thousands per layer), and the values read are the same.
    return { scalars, forms };
  });
  const steps = losses.length;
  const lossTable = steps ? tf.stack(losses as TF.Tensor1D[], 1) : undefined;
  const [scalarValues, lossValues, ...columnValues] = await Promise.all([measured.scalars.data(), lossTable?.data() ?? Promise.resolve(new Float32Array(0)), ...[...measured.forms, ...m].map((c) => c.data())]);
  tf.dispose([measured.scalars, ...measured.forms, ...(lossTable ? [lossTable] : [])]);
  const scalarWidth = 1 + 2 * N;
  return Array.from({ length: B }, (_, b) => {
    const column = (k: number) => (columnValues[k] as Float32Array).slice(b * n, (b + 1) * n);
    const scalar = (k: number) => scalarValues[b * scalarWidth + k];
    const allLosses = new Float32Array(steps + 1);
    allLosses.set(lossValues.slice(b * steps, (b + 1) * steps));
    allLosses[steps] = scalar(0);
    const formsStart = reuse ? 0 : pairs.length + N;
    const errors = Array.from({ length: N }, (_, i) => scalar(1 + i));
    return {
      m: Array.from({ length: N }, (_, i) => column(formsStart + i)),
      losses: allLosses,
      errors,
      directErrors: reuse ? reuse[b].directErrors : settings.atDirect ? errors : Array.from({ length: N }, (_, i) => scalar(1 + N + i)),
      columnInner: reuse ? reuse[b].columnInner : pairs.map((_, k) => column(k)),
      columnSquares: reuse ? reuse[b].columnSquares : Array.from({ length: N }, (_, i) => column(pairs.length + i)),
    };
  });
}
