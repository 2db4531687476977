/** Seeded random factors and dense references for merge tests. */
import { FactoredDelta, LayerInput } from '../../src/core/merge/types';
import { randomNormal, seededRandom } from './seeded-random';

export { seededRandom } from './seeded-random';

export function randomDelta(inFeatures: number, outFeatures: number, rank: number, seed: number, scale = 1): FactoredDelta {
  const random = seededRandom(seed);
  return {
    down: randomNormal(rank * inFeatures, random, 1 / Math.sqrt(inFeatures)),
    upTransposed: randomNormal(rank * outFeatures, random, 1 / Math.sqrt(rank)),
    rank,
    inFeatures,
    outFeatures,
    scale,
  };
}

/** A 24 × 16 layer whose content reads inputs 0…11 and style 12…23 (rank 3 each): no column is shared. */
export function disjointInputsLayer(contentSeed: number, styleSeed: number): LayerInput {
  const content = randomDelta(24, 16, 3, contentSeed);
  const style = randomDelta(24, 16, 3, styleSeed);
  return {
    content: { ...content, down: content.down.map((v, k) => (k % 24 < 12 ? v : 0)) },
    style: { ...style, down: style.down.map((v, k) => (k % 24 >= 12 ? v : 0)) },
  };
}

/** Dense ΔW = scale·up·down (out × in), row-major float64. */
export function denseDelta(delta: FactoredDelta): Float64Array {
  const { rank, inFeatures: n, outFeatures: out } = delta;
  const w = new Float64Array(out * n);
  for (let i = 0; i < out; i++)
    for (let a = 0; a < rank; a++) {
      const b = delta.upTransposed[a * out + i] * delta.scale;
      for (let j = 0; j < n; j++) w[i * n + j] += b * delta.down[a * n + j];
    }
  return w;
}

/** ‖X·Yᵀ‖²_F for dense row-major X (p × n) and Y (q × n). */
export function frobeniusOfProductT(x: Float64Array, y: Float64Array, p: number, q: number, n: number): number {
  let total = 0;
  for (let i = 0; i < p; i++)
    for (let k = 0; k < q; k++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += x[i * n + j] * y[k * n + j];
      total += s * s;
    }
  return total;
}

/** The loss of docs/merge-method.md §2 computed densely, as written there: an independent reference for small layers. */
export function denseLoss(content: FactoredDelta, style: FactoredDelta, mContent: ArrayLike<number>, mStyle: ArrayLike<number>, lambda: number) {
  const wc = denseDelta(content);
  const ws = denseDelta(style);
  const n = content.inFeatures;
  const out = content.outFeatures;
  const merged = new Float64Array(out * n);
  for (let i = 0; i < out; i++) for (let j = 0; j < n; j++) merged[i * n + j] = wc[i * n + j] * mContent[j] + ws[i * n + j] * mStyle[j];
  const diffC = merged.map((v, i) => v - wc[i]);
  const diffS = merged.map((v, i) => v - ws[i]);
  const contentError = frobeniusOfProductT(diffC, wc, out, out, n) / frobeniusOfProductT(wc, wc, out, out, n);
  const styleError = frobeniusOfProductT(diffS, ws, out, out, n) / frobeniusOfProductT(ws, ws, out, out, n);
  let penalty = 0;
  for (let j = 0; j < n; j++) penalty += Math.abs(mContent[j] * mStyle[j]);
  penalty = (lambda * penalty) / n;
  return { contentError, styleError, penalty, loss: contentError + styleError + penalty, merged };
}
