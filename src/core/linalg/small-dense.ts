/**
 * Decompositions of small (rank-sized, r × r) dense matrices, through ml-matrix. Everything large is reduced
 * to these by the Gram kernels first, so their cost does not depend on the layer's width.
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';

export function toMatrix(values: Float64Array, rows: number, cols: number): Matrix {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, values[i * cols + j]);
  return m;
}

/**
 * A square root F (r × r) of a symmetric positive semi-definite Gram G = XᵀX, with FᵀF = G. F plays the part
 * of the R factor of a thin QR of X (X = Q·F with orthonormal Q), but it exists when X is rank-deficient too:
 * F = Λ^½·Vᵀ from G = V·Λ·Vᵀ, with round-off negatives of Λ clamped to 0.
 */
export function gramSquareRoot(gram: Float64Array, r: number): Matrix {
  const evd = new EigenvalueDecomposition(toMatrix(gram, r, r), { assumeSymmetric: true });
  const v = evd.eigenvectorMatrix;
  const f = new Matrix(r, r);
  evd.realEigenvalues.forEach((lambda, k) => {
    const s = Math.sqrt(Math.max(lambda, 0));
    for (let j = 0; j < r; j++) f.set(k, j, s * v.get(j, k));
  });
  return f;
}

/** Singular values of a small dense matrix, largest first. */
export function singularValues(m: Matrix): number[] {
  const svd = new SingularValueDecomposition(m, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true });
  return [...svd.diagonal].map((s) => Math.max(s, 0)).sort((a, b) => b - a);
}

/**
 * Singular values of the product B·A (out × in) from the two r × r Grams BᵀB and A·Aᵀ alone: with B = Q_B·F_B
 * and Aᵀ = Q_A·F_A (orthonormal Q's), B·A = Q_B·(F_B·F_Aᵀ)·Q_Aᵀ, so σ(B·A) = σ(F_B·F_Aᵀ), an r × r SVD.
 */
export function productSingularValues(upGram: Float64Array, downGram: Float64Array, r: number): number[] {
  const fUp = gramSquareRoot(upGram, r);
  const fDown = gramSquareRoot(downGram, r);
  return singularValues(fUp.mmul(fDown.transpose()));
}
