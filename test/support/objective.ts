/**
 * The ZipLoRA objective of one layer (docs/merge-method.md §2), in float64 on the CPU, in factored form only:
 * no out × in matrix is ever built. The compute backends run the same formulas batched; this module is the
 * reference they are tested against (tests and benchmarks only; the product measures on its backend).
 *
 * Notation: A = [A_c; A_s] (R × in, R = r_c + r_s) stacks the down factors; B̃ = [s_c·B_c, s_s·B_s] the scaled
 * up factors, so ΔW_m = B̃·[A_c·diag(m_c); A_s·diag(m_s)] and ΔW_c = B̃·[A_c; 0].
 * G = B̃ᵀB̃ (R × R); its diagonal blocks are H_c = s_c²·B_cᵀB_c and H_s. With u_c = m_c − 1:
 *   (ΔW_m − ΔW_c)·ΔW_cᵀ = B̃·Z_c·(s_c·B_c)ᵀ,  Z_c = [A_c·diag(u_c); A_s·diag(m_s)]·A_cᵀ   (R × r_c)
 *   ‖…‖² = tr(Z_cᵀ·G·Z_c·H_c),   and the normaliser ‖ΔW_c·ΔW_cᵀ‖² = tr((A_cA_cᵀ·H_c)²).
 * The style term is the same with the roles swapped.
 */
import { crossGramRows, gramRows } from '../../src/core/linalg/gram';
import { block } from '../../src/core/linalg/small-matrix';
import { matmul, traceOfProduct } from './small-matrix';
import { FactoredDelta, LayerInput } from '../../src/core/merge/types';

export interface PreparedLayer {
  readonly inFeatures: number;
  readonly rankContent: number;
  readonly rankStyle: number;
  /** [A_c; A_s], R × in. */
  readonly down: Float32Array;
  /** G = B̃ᵀB̃, R × R. */
  readonly upGram: Float64Array;
  readonly normContent: number;
  readonly normStyle: number;
}

export interface ObjectiveValue {
  readonly loss: number;
  readonly contentError: number;
  readonly styleError: number;
  readonly penalty: number;
}

export interface ObjectiveWithGradient extends ObjectiveValue {
  readonly gradContent: Float64Array;
  readonly gradStyle: Float64Array;
}

/** [s_c·B_c, s_s·B_s]ᵀ = [s_c·B_cᵀ; s_s·B_sᵀ] (R × out): the merged up factor, transposed. */
export function mergedUpTransposed(content: FactoredDelta, style: FactoredDelta): Float32Array {
  const up = new Float32Array((content.rank + style.rank) * content.outFeatures);
  content.upTransposed.forEach((v, i) => (up[i] = v * content.scale));
  const offset = content.upTransposed.length;
  style.upTransposed.forEach((v, i) => (up[offset + i] = v * style.scale));
  return up;
}

export function stackDown(content: FactoredDelta, style: FactoredDelta): Float32Array {
  const down = new Float32Array((content.rank + style.rank) * content.inFeatures);
  down.set(content.down, 0);
  down.set(style.down, content.down.length);
  return down;
}

export function prepareLayer(pair: LayerInput): PreparedLayer {
  const { content, style } = pair;
  const rc = content.rank;
  const rs = style.rank;
  const R = rc + rs;
  const n = content.inFeatures;
  const down = stackDown(content, style);
  const upGram = gramRows(mergedUpTransposed(content, style), R, content.outFeatures);
  const normOf = (start: number, rank: number) => {
    const a = down.subarray(start * n, (start + rank) * n);
    const gram = gramRows(a, rank, n);
    const h = block(upGram, R, start, start + rank, start, start + rank);
    const product = matmul(gram, h, rank, rank, rank);
    return traceOfProduct(product, product, rank);
  };
  return { inFeatures: n, rankContent: rc, rankStyle: rs, down, upGram, normContent: normOf(0, rc), normStyle: normOf(rc, rs) };
}

/**
 * One fidelity term and its gradient with respect to the row weights of [A_c·diag(w_top); A_s·diag(w_bottom)].
 * `target` selects the term: 0 for content (rows 0…r_c), 1 for style (rows r_c…R).
 */
function fidelityTerm(layer: PreparedLayer, wTop: ArrayLike<number>, wBottom: ArrayLike<number>, target: 0 | 1) {
  const { inFeatures: n, rankContent: rc, rankStyle: rs, down, upGram } = layer;
  const R = rc + rs;
  const start = target === 0 ? 0 : rc;
  const rank = target === 0 ? rc : rs;
  const norm = target === 0 ? layer.normContent : layer.normStyle;
  const weighted = new Float64Array(R * n);
  for (let a = 0; a < R; a++) {
    const w = a < rc ? wTop : wBottom;
    for (let j = 0; j < n; j++) weighted[a * n + j] = down[a * n + j] * w[j];
  }
  const targetDown = down.subarray(start * n, (start + rank) * n);
  const z = crossGramRows(weighted, R, targetDown, rank, n);
  const h = block(upGram, R, start, start + rank, start, start + rank);
  const t = matmul(matmul(upGram, z, R, R, rank), h, R, rank, rank);
  let numerator = 0;
  for (let i = 0; i < z.length; i++) numerator += z[i] * t[i];
  const gradTop = new Float64Array(n);
  const gradBottom = new Float64Array(n);
  if (norm > 0) {
    // d/dW[a,j] of tr(ZᵀGZH) = A[a,j]·(2·G·Z·H·A_target)[a,j]
    const y = matmul(t, targetDown, R, rank, n);
    for (let a = 0; a < R; a++) {
      const grad = a < rc ? gradTop : gradBottom;
      for (let j = 0; j < n; j++) grad[j] += (2 * down[a * n + j] * y[a * n + j]) / norm;
    }
  }
  return { error: norm > 0 ? numerator / norm : 0, gradTop, gradBottom };
}

/** The loss L(m_c, m_s) and its gradient; the penalty is λ·mean_j |m_c[j]·m_s[j]|. */
export function evaluateObjective(layer: PreparedLayer, mContent: ArrayLike<number>, mStyle: ArrayLike<number>, lambda: number): ObjectiveWithGradient {
  const n = layer.inFeatures;
  const uContent = Float64Array.from(mContent, (m) => m - 1);
  const uStyle = Float64Array.from(mStyle, (m) => m - 1);
  const content = fidelityTerm(layer, uContent, mStyle, 0);
  const style = fidelityTerm(layer, mContent, uStyle, 1);
  const gradContent = new Float64Array(n);
  const gradStyle = new Float64Array(n);
  let penalty = 0;
  for (let j = 0; j < n; j++) {
    const product = mContent[j] * mStyle[j];
    penalty += Math.abs(product);
    const sign = Math.sign(product);
    gradContent[j] = content.gradTop[j] + style.gradTop[j] + (lambda / n) * sign * mStyle[j];
    gradStyle[j] = content.gradBottom[j] + style.gradBottom[j] + (lambda / n) * sign * mContent[j];
  }
  penalty = (lambda * penalty) / n;
  return { loss: content.error + style.error + penalty, contentError: content.error, styleError: style.error, penalty, gradContent, gradStyle };
}
