/**
 * An independent float64 reference for the ZipLoRA objective as a box-constrained quadratic, built densely from
 * the ΔW's (docs/merge-method.md §2 as written): the content term is ‖(ΔW_m − ΔW_c)·ΔW_cᵀ‖² / ‖ΔW_c·ΔW_cᵀ‖², and
 * (ΔW_m − ΔW_c)·ΔW_cᵀ = Σ_j (m_c,j·c_j + m_s,j·s_j)·c_jᵀ − ΔW_c·ΔW_cᵀ is linear in x = (m_c, m_s), so the
 * term is ‖K_c·x − k_c‖² / N_c with the out² × 2·in matrix K_c written out; likewise the style term. Q, b, c of
 * L = ½xᵀQx + bᵀx + c follow, and the box QP is solved by projected coordinate descent (Gauss–Seidel) to
 * machine precision — a different method from the solver under test, on a different formulation.
 */
import { FactoredDelta } from '../../src/core/merge/types';
import { denseDelta } from './random-lora';

export interface DenseQuadratic {
  /** 2·in × 2·in, row-major; x = (m_c, m_s). */
  readonly hessian: Float64Array;
  readonly linear: Float64Array;
  readonly constant: number;
  readonly size: number;
}

/** Column j of a dense row-major out × in matrix. */
const column = (w: Float64Array, out: number, n: number, j: number) => Float64Array.from({ length: out }, (_, i) => w[i * n + j]);

export function denseQuadratic(content: FactoredDelta, style: FactoredDelta, lambda: number): DenseQuadratic {
  const n = content.inFeatures;
  const out = content.outFeatures;
  const size = 2 * n;
  const wc = denseDelta(content);
  const ws = denseDelta(style);
  const hessian = new Float64Array(size * size);
  const linear = new Float64Array(size);
  let constant = 0;
  for (const target of [wc, ws]) {
    const t = Array.from({ length: n }, (_, j) => column(target, out, n, j));
    const cols = [...Array.from({ length: n }, (_, j) => column(wc, out, n, j)), ...Array.from({ length: n }, (_, j) => column(ws, out, n, j))];
    // K's column for x_k: vec(v_k·t_jᵀ) with v_k the k-th column of ΔW_c (k < n) or ΔW_s, j = k mod n.
    const k = cols.map((v, idx) => {
      const tj = t[idx % n];
      const vec = new Float64Array(out * out);
      for (let a = 0; a < out; a++) for (let b = 0; b < out; b++) vec[a * out + b] = v[a] * tj[b];
      return vec;
    });
    const targetVec = new Float64Array(out * out);
    for (let j = 0; j < n; j++) for (let a = 0; a < out; a++) for (let b = 0; b < out; b++) targetVec[a * out + b] += t[j][a] * t[j][b];
    let norm = 0;
    for (const v of targetVec) norm += v * v;
    if (norm === 0) continue;
    const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, x, i) => s + x * v[i], 0);
    for (let p = 0; p < size; p++) {
      linear[p] -= (2 * dot(k[p], targetVec)) / norm;
      for (let q = 0; q < size; q++) hessian[p * size + q] += (2 * dot(k[p], k[q])) / norm;
    }
    constant += 1;
  }
  for (let j = 0; j < n; j++) {
    hessian[j * size + n + j] += lambda / n;
    hessian[(n + j) * size + j] += lambda / n;
  }
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

/** Projected coordinate descent from x = 1 until no coordinate moves by more than 1e-15 (or the sweep cap). */
export function solveBoxQp(q: DenseQuadratic, maxSweeps = 200_000): Float64Array {
  const n = q.size;
  const x = new Float64Array(n).fill(1);
  const gradient = Float64Array.from(q.linear);
  for (let p = 0; p < n; p++) for (let r = 0; r < n; r++) gradient[p] += q.hessian[p * n + r];
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
