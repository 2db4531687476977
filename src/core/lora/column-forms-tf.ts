/**
 * The per-column forms of a layer pair (⟨c_j, s_j⟩, ‖c_j‖², ‖s_j‖², scales left out) as a few float32 matrix
 * products on a tfjs backend. On tfjs-wasm these run in XNNPACK, but only 2-D, un-batched, un-transposed
 * products do (others fall to a path ~8× slower), so every product here is a plain [m,k]·[k,n]
 * and the transposes are their own ops.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { StoredFactors } from './factors';

export interface FactorsWithShape extends StoredFactors {
  readonly rank: number;
}

export interface ColumnForms {
  /** a_cjᵀ·(B_cᵀB_s)·a_sj for each column j. */
  readonly dots: Float32Array;
  readonly firstSquares: Float32Array;
  readonly secondSquares: Float32Array;
}

/** Aᵀ (columns × r), B (out × r) and Bᵀ as tensors, whichever way the file stored them. */
function operands(tf: typeof TF, f: FactorsWithShape, out: number, columns: number): { downT: TF.Tensor2D; up: TF.Tensor2D; upT: TF.Tensor2D } {
  if (f.transposed) {
    const upT = tf.tensor2d(f.up, [f.rank, out]);
    return { downT: tf.tensor2d(f.down, [columns, f.rank]), up: tf.transpose(upT), upT };
  }
  const up = tf.tensor2d(f.up, [out, f.rank]);
  return { downT: tf.transpose(tf.tensor2d(f.down, [f.rank, columns])), up, upT: tf.transpose(up) };
}

export function columnFormsTf(tf: typeof TF, first: FactorsWithShape, second: FactorsWithShape, out: number, columns: number): ColumnForms {
  const result = tf.tidy(() => {
    const c = operands(tf, first, out, columns);
    const s = operands(tf, second, out, columns);
    // Row j of Aᵀ·M is (Mᵀ·a_j)ᵀ, so Σ_k Aᵀ[j,k]·(A'ᵀ·M)[j,k] = a_jᵀ·Mᵀ·a'_j; the row sums are a product with
    // a column of ones. The large operand is always on the left: XNNPACK repacks the right one on every call.
    const form = (aT: TF.Tensor2D, bT: TF.Tensor2D, m: TF.Tensor) => tf.matMul(tf.mul(aT, tf.matMul(bT, m)), tf.ones([aT.shape[1], 1]));
    return tf.concat([
      form(c.downT, s.downT, tf.matMul(s.upT, c.up)), // M = B_sᵀB_c = Xᵀ
      form(c.downT, c.downT, tf.matMul(c.upT, c.up)),
      form(s.downT, s.downT, tf.matMul(s.upT, s.up)),
    ]);
  });
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return { dots: values.subarray(0, columns), firstSquares: values.subarray(columns, 2 * columns), secondSquares: values.subarray(2 * columns) };
}
