/**
 * The N-way ZipLoRA objective of one layer (docs/merge-method.md §2), in float64 on the CPU, in factored form
 * only: no out × in matrix is ever built. The compute backends run the same formulas batched; this module is the
 * reference they are tested against (tests and benchmarks only; the product measures on its backend).
 *
 * Notation: A = [A_1; …; A_N] (R × in, R = Σ r_i) stacks the down factors; B̃ = [s_1·B_1, …, s_N·B_N] the scaled
 * up factors, so ΔW_m = B̃·[A_1·diag(m_1); …; A_N·diag(m_N)] and ΔW_t = B̃·[0; …; A_t; …; 0].
 * G = B̃ᵀB̃ (R × R); its diagonal blocks are H_t = s_t²·B_tᵀB_t. With u_t = m_t − 1:
 *   (ΔW_m − ΔW_t)·ΔW_tᵀ = B̃·Z_t·(s_t·B_t)ᵀ,  Z_t = [A_1·diag(m_1); …; A_t·diag(u_t); …]·A_tᵀ   (R × r_t)
 *   ‖…‖² = tr(Z_tᵀ·G·Z_t·H_t),   and the normaliser ‖ΔW_t·ΔW_tᵀ‖² = tr((A_tA_tᵀ·H_t)²).
 * The penalty is λ·mean_j Σ_{i<k} |m_i[j]·m_k[j]|.
 */
import { crossGramRows, gramRows } from '../../src/core/linalg/gram';
import { block } from '../../src/core/linalg/small-matrix';
import { matmul, traceOfProduct } from './small-matrix';
import { FactoredDelta, LayerInput, upTransposedOf } from '../../src/core/merge/types';

export interface PreparedLayer {
  readonly inFeatures: number;
  /** r_i per input and the first row of input i in `down` and `upGram`. */
  readonly ranks: readonly number[];
  readonly offsets: readonly number[];
  /** [A_1; …; A_N], R × in. */
  readonly down: Float32Array;
  /** G = B̃ᵀB̃, R × R. */
  readonly upGram: Float64Array;
  /** ‖ΔW_t·ΔW_tᵀ‖² per input. */
  readonly norms: readonly number[];
}

export interface ObjectiveValue {
  readonly loss: number;
  /** Input t's fidelity term, per input. */
  readonly errors: readonly number[];
  readonly penalty: number;
}

export interface ObjectiveWithGradient extends ObjectiveValue {
  /** ∂L/∂m_i per input. */
  readonly gradients: readonly Float64Array[];
}

/** [s_1·B_1, …, s_N·B_N]ᵀ (R × out): the merged up factor, transposed. */
export function mergedUpTransposed(inputs: readonly FactoredDelta[]): Float32Array {
  const R = inputs.reduce((a, d) => a + d.rank, 0);
  const up = new Float32Array(R * inputs[0].outFeatures);
  let offset = 0;
  for (const d of inputs) {
    const upT = upTransposedOf(d);
    upT.forEach((v, i) => (up[offset + i] = v * d.scale));
    offset += upT.length;
  }
  return up;
}

export function stackDown(inputs: readonly FactoredDelta[]): Float32Array {
  const R = inputs.reduce((a, d) => a + d.rank, 0);
  const down = new Float32Array(R * inputs[0].inFeatures);
  let offset = 0;
  for (const d of inputs) {
    down.set(d.down, offset);
    offset += d.down.length;
  }
  return down;
}

export function prepareLayer(layer: LayerInput): PreparedLayer {
  const { inputs } = layer;
  const ranks = inputs.map((d) => d.rank);
  const offsets = ranks.map((_, i) => ranks.slice(0, i).reduce((a, r) => a + r, 0));
  const R = ranks.reduce((a, r) => a + r, 0);
  const n = inputs[0].inFeatures;
  const down = stackDown(inputs);
  const upGram = gramRows(mergedUpTransposed(inputs), R, inputs[0].outFeatures);
  const normOf = (start: number, rank: number) => {
    const a = down.subarray(start * n, (start + rank) * n);
    const gram = gramRows(a, rank, n);
    const h = block(upGram, R, start, start + rank, start, start + rank);
    const product = matmul(gram, h, rank, rank, rank);
    return traceOfProduct(product, product, rank);
  };
  return { inFeatures: n, ranks, offsets, down, upGram, norms: ranks.map((r, i) => normOf(offsets[i], r)) };
}

/** The input that owns row a of the stacked factors. */
function ownerOf(layer: PreparedLayer, a: number): number {
  let owner = 0;
  layer.offsets.forEach((o, i) => o <= a && (owner = i));
  return owner;
}

/** Input t's fidelity term and its gradient with respect to the row weights w_i of [A_1·diag(w_1); …]. */
function fidelityTerm(layer: PreparedLayer, weights: readonly ArrayLike<number>[], target: number) {
  const { inFeatures: n, ranks, down, upGram } = layer;
  const R = ranks.reduce((a, r) => a + r, 0);
  const start = layer.offsets[target];
  const rank = ranks[target];
  const norm = layer.norms[target];
  const owner = Array.from({ length: R }, (_, a) => ownerOf(layer, a));
  const weighted = new Float64Array(R * n);
  for (let a = 0; a < R; a++) {
    const w = weights[owner[a]];
    for (let j = 0; j < n; j++) weighted[a * n + j] = down[a * n + j] * w[j];
  }
  const targetDown = down.subarray(start * n, (start + rank) * n);
  const z = crossGramRows(weighted, R, targetDown, rank, n);
  const h = block(upGram, R, start, start + rank, start, start + rank);
  const t = matmul(matmul(upGram, z, R, R, rank), h, R, rank, rank);
  let numerator = 0;
  for (let i = 0; i < z.length; i++) numerator += z[i] * t[i];
  const gradients = ranks.map(() => new Float64Array(n));
  if (norm > 0) {
    // d/dW[a,j] of tr(ZᵀGZH) = A[a,j]·(2·G·Z·H·A_target)[a,j]
    const y = matmul(t, targetDown, R, rank, n);
    for (let a = 0; a < R; a++) {
      const grad = gradients[owner[a]];
      for (let j = 0; j < n; j++) grad[j] += (2 * down[a * n + j] * y[a * n + j]) / norm;
    }
  }
  return { error: norm > 0 ? numerator / norm : 0, gradients };
}

/** The loss L(m_1, …, m_N) and its gradient. */
export function evaluateObjective(layer: PreparedLayer, m: readonly ArrayLike<number>[], lambda: number): ObjectiveWithGradient {
  const n = layer.inFeatures;
  const N = m.length;
  const terms = m.map((_, t) => fidelityTerm(layer, m.map((mi, i) => (i === t ? Float64Array.from(mi, (v) => v - 1) : mi)), t));
  const gradients = m.map((_, i) => Float64Array.from({ length: n }, (__, j) => terms.reduce((s, term) => s + term.gradients[i][j], 0)));
  let penalty = 0;
  for (let i = 0; i < N; i++)
    for (let k = i + 1; k < N; k++)
      for (let j = 0; j < n; j++) {
        const product = m[i][j] * m[k][j];
        penalty += Math.abs(product);
        const sign = Math.sign(product);
        gradients[i][j] += (lambda / n) * sign * m[k][j];
        gradients[k][j] += (lambda / n) * sign * m[i][j];
      }
  penalty = (lambda * penalty) / n;
  const errors = terms.map((t) => t.error);
  return { loss: errors.reduce((a, e) => a + e, 0) + penalty, errors, penalty, gradients };
}
