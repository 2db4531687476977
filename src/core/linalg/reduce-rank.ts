/**
 * Optional lossy reduction of a merged layer to rank k (docs/merge-method.md §5): QR of both factors, an R × R SVD of the
 * product of their triangular parts, and the top k singular directions. Never forms the out × in matrix.
 */
import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';

export interface ReducedFactors {
  /** out × k, row-major. */
  readonly up: Float32Array;
  /** k × cols, row-major. */
  readonly down: Float32Array;
  readonly rank: number;
  /** Σ_{i<k} σ_i² / Σ σ_i²: the share of ‖ΔW‖² kept. */
  readonly retainedEnergy: number;
}

function toMatrix(values: ArrayLike<number>, rows: number, cols: number, transposed = false): Matrix {
  const m = new Matrix(transposed ? cols : rows, transposed ? rows : cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) transposed ? m.set(j, i, values[i * cols + j]) : m.set(i, j, values[i * cols + j]);
  return m;
}

/** up (out × R) · down (R × cols) ≈ up_k · down_k of rank k = min(k, R). */
export function reduceRank(up: ArrayLike<number>, down: ArrayLike<number>, out: number, R: number, cols: number, k: number): ReducedFactors {
  return truncate(up, down, out, R, cols, () => k);
}

/** The fewest leading singular values whose squares keep `energy` of their total (at least 1). */
export function rankKeeping(sigma: readonly number[], energy: number): number {
  const total = sigma.reduce((a, s) => a + s * s, 0);
  let kept = 0;
  for (let k = 0; k < sigma.length; k++) {
    kept += sigma[k] * sigma[k];
    // A relative tolerance, so that E = 1 keeps the numerically non-zero directions and not every last rounding.
    if (kept >= energy * total * (1 - 1e-12)) return k + 1;
  }
  return Math.max(1, sigma.length);
}

/**
 * `--rank-energy E`: the smallest rank that keeps E of ‖up·down‖² (docs/merge-method.md §5), and at most `maxRank`.
 * The same truncated SVD as reduceRank.
 */
export function reduceRankToEnergy(up: ArrayLike<number>, down: ArrayLike<number>, out: number, R: number, cols: number, energy: number, maxRank = R): ReducedFactors {
  return truncate(up, down, out, R, cols, (sigma) => Math.min(maxRank, rankKeeping(sigma, energy)));
}

function truncate(up: ArrayLike<number>, down: ArrayLike<number>, out: number, R: number, cols: number, chooseRank: (sigma: number[]) => number): ReducedFactors {
  const qrUp = new QrDecomposition(toMatrix(up, out, R));
  const qrDown = new QrDecomposition(toMatrix(down, R, cols, true));
  const core = qrUp.upperTriangularMatrix.mmul(qrDown.upperTriangularMatrix.transpose());
  const svd = new SingularValueDecomposition(core, { autoTranspose: true });
  const sigma = svd.diagonal;
  const keep = Math.min(chooseRank(sigma), R, sigma.length);
  const total = sigma.reduce((a, s) => a + s * s, 0);
  const kept = sigma.slice(0, keep).reduce((a, s) => a + s * s, 0);
  const u = svd.leftSingularVectors.subMatrix(0, R - 1, 0, keep - 1);
  const v = svd.rightSingularVectors.subMatrix(0, R - 1, 0, keep - 1);
  const upK = qrUp.orthogonalMatrix.mmul(u).mmul(Matrix.diag(sigma.slice(0, keep)));
  const downK = qrDown.orthogonalMatrix.mmul(v).transpose();
  return {
    up: Float32Array.from(upK.to1DArray()),
    down: Float32Array.from(downK.to1DArray()),
    rank: keep,
    retainedEnergy: total > 0 ? kept / total : 1,
  };
}
