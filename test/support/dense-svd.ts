/** A dense float64 SVD of a whole ΔW (ml-matrix), the reference for the rank reduction, which never forms ΔW. */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';

export interface DenseSvd {
  /** Descending. */
  readonly sigma: number[];
  /** Σ_{i<k} σ_i² / Σ σ_i². */
  retainedEnergy(k: number): number;
  /** The best rank-k approximation U_k Σ_k V_kᵀ (Eckart–Young), row-major. */
  bestRank(k: number): Float64Array;
}

export function denseSvd(w: ArrayLike<number>, rows: number, cols: number): DenseSvd {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, w[i * cols + j]);
  const svd = new SingularValueDecomposition(m, { autoTranspose: true });
  const sigma = svd.diagonal;
  const total = sigma.reduce((a, s) => a + s * s, 0);
  return {
    sigma,
    retainedEnergy: (k) => sigma.slice(0, k).reduce((a, s) => a + s * s, 0) / total,
    bestRank(k) {
      const u = svd.leftSingularVectors;
      const v = svd.rightSingularVectors;
      const out = new Float64Array(rows * cols);
      for (let a = 0; a < k; a++) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] += u.get(i, a) * sigma[a] * v.get(j, a);
      return out;
    },
  };
}

/** ‖a − b‖_F / ‖b‖_F. */
export function relativeFrobenius(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}
