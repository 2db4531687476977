/**
 * An independent float64 reference for the N-way ZipLoRA objective as a box-constrained quadratic, built densely
 * from the ΔW's (docs/merge-method.md §2 as written): input t's term is ‖(ΔW_m − ΔW_t)·ΔW_tᵀ‖² / ‖ΔW_t·ΔW_tᵀ‖², and
 * (ΔW_m − ΔW_t)·ΔW_tᵀ = Σ_i Σ_j m_i,j·c_i,j·t_jᵀ − ΔW_t·ΔW_tᵀ (t_j the columns of ΔW_t) is linear in
 * x = (m_1, …, m_N), so the term is ‖K_t·x − k_t‖² / N_t with the out² × N·in matrix K_t written out. Q, b, c of
 * L = ½xᵀQx + bᵀx + c follow (the penalty λ/in·Σ_j Σ_{i<k} m_i,j·m_k,j adds λ/in to Q's off-diagonal pair
 * entries), and the box QP is solved by projected coordinate descent (Gauss–Seidel) to machine precision — a
 * different method from the solver under test, on a different formulation.
 */
import { FactoredDelta } from '../../src/core/merge/types';
import { denseDelta } from './random-lora';

export interface DenseQuadratic {
  /** N·in × N·in, row-major; x = (m_1, …, m_N). */
  readonly hessian: Float64Array;
  readonly linear: Float64Array;
  readonly constant: number;
  readonly size: number;
}

/** Column j of a dense row-major out × in matrix. */
const column = (w: Float64Array, out: number, n: number, j: number) => Float64Array.from({ length: out }, (_, i) => w[i * n + j]);

export function denseQuadratic(inputs: readonly FactoredDelta[], lambda: number): DenseQuadratic {
  const n = inputs[0].inFeatures;
  const out = inputs[0].outFeatures;
  const N = inputs.length;
  const size = N * n;
  const deltas = inputs.map(denseDelta);
  // x_p scales column p mod n of ΔW_(p div n).
  const cols = deltas.flatMap((w) => Array.from({ length: n }, (_, j) => column(w, out, n, j)));
  const hessian = new Float64Array(size * size);
  const linear = new Float64Array(size);
  let constant = 0;
  const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, x, i) => s + x * v[i], 0);
  for (const target of deltas) {
    const t = Array.from({ length: n }, (_, j) => column(target, out, n, j));
    // K's column for x_p: vec(v_p·t_jᵀ), j = p mod n.
    const k = cols.map((v, p) => {
      const tj = t[p % n];
      const vec = new Float64Array(out * out);
      for (let a = 0; a < out; a++) for (let b = 0; b < out; b++) vec[a * out + b] = v[a] * tj[b];
      return vec;
    });
    const targetVec = new Float64Array(out * out);
    for (let j = 0; j < n; j++) for (let a = 0; a < out; a++) for (let b = 0; b < out; b++) targetVec[a * out + b] += t[j][a] * t[j][b];
    let norm = 0;
    for (const v of targetVec) norm += v * v;
    if (norm === 0) continue;
    for (let p = 0; p < size; p++) {
      linear[p] -= (2 * dot(k[p], targetVec)) / norm;
      for (let q = 0; q < size; q++) hessian[p * size + q] += (2 * dot(k[p], k[q])) / norm;
    }
    constant += 1;
  }
  for (let i = 0; i < N; i++)
    for (let l = 0; l < N; l++)
      if (i !== l) for (let j = 0; j < n; j++) hessian[(i * n + j) * size + l * n + j] += lambda / n;
  return { hessian, linear, constant, size };
}

export function quadraticValue(q: DenseQuadratic, x: ArrayLike<number>): number {
  let value = q.constant;
  for (let p = 0; p < q.size; p++) {
    let row = 0;
    for (let r = 0; r < q.size; r++) row += q.hessian[p * q.size + r] * x[r];
    value += x[p] * (0.5 * row + q.linear[p]);
  }
  return value;
}

/** Whether Q is positive definite (Cholesky succeeds with pivots above `floor`): then the optimum is unique. */
export function isPositiveDefinite(q: DenseQuadratic, floor = 1e-12): boolean {
  const n = q.size;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = q.hessian[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (s <= floor) return false;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  return true;
}

/** Projected coordinate descent from `start` (default x = 1) until no coordinate moves by more than 1e-15 (or the sweep cap). */
export function solveBoxQp(q: DenseQuadratic, start?: ArrayLike<number>, maxSweeps = 200_000): Float64Array {
  const n = q.size;
  const x = start ? Float64Array.from(start) : new Float64Array(n).fill(1);
  const gradient = Float64Array.from(q.linear);
  for (let p = 0; p < n; p++) for (let r = 0; r < n; r++) gradient[p] += q.hessian[p * n + r] * x[r];
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let largest = 0;
    for (let p = 0; p < n; p++) {
      const curvature = q.hessian[p * n + p];
      const target = curvature > 0 ? x[p] - gradient[p] / curvature : gradient[p] > 0 ? 0 : gradient[p] < 0 ? 1 : x[p];
      const next = Math.min(1, Math.max(0, target));
      const change = next - x[p];
      if (change === 0) continue;
      x[p] = next;
      for (let r = 0; r < n; r++) gradient[r] += q.hessian[r * n + p] * change;
      largest = Math.max(largest, Math.abs(change));
    }
    if (largest < 1e-15) break;
  }
  return x;
}

/** ‖P(x − ∇L) − x‖∞ of the dense quadratic: the optimality measure, independent of the solver's. */
export function projectedGradientInf(q: DenseQuadratic, x: ArrayLike<number>): number {
  let worst = 0;
  for (let p = 0; p < q.size; p++) {
    let g = q.linear[p];
    for (let r = 0; r < q.size; r++) g += q.hessian[p * q.size + r] * x[r];
    worst = Math.max(worst, Math.abs(Math.min(1, Math.max(0, x[p] - g)) - x[p]));
  }
  return worst;
}
