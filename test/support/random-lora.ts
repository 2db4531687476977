/** Seeded random factors and dense references for merge tests. */
import { FactoredDelta, LayerInput, upTransposedOf } from '../../src/core/merge/types';
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
    inputs: [
      { ...content, down: content.down.map((v, k) => (k % 24 < 12 ? v : 0)) },
      { ...style, down: style.down.map((v, k) => (k % 24 >= 12 ? v : 0)) },
    ],
  };
}

/** Dense ΔW = scale·up·down (out × in), row-major float64. */
export function denseDelta(delta: FactoredDelta): Float64Array {
  const { rank, inFeatures: n, outFeatures: out } = delta;
  const w = new Float64Array(out * n);
  const upT = upTransposedOf(delta);
  for (let i = 0; i < out; i++)
    for (let a = 0; a < rank; a++) {
      const b = upT[a * out + i] * delta.scale;
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

/** The N-way loss of docs/merge-method.md §2 computed densely, as written there: an independent reference for small layers. */
export function denseLoss(inputs: readonly FactoredDelta[], m: readonly ArrayLike<number>[], lambda: number) {
  const deltas = inputs.map(denseDelta);
  const n = inputs[0].inFeatures;
  const out = inputs[0].outFeatures;
  const merged = new Float64Array(out * n);
  deltas.forEach((w, k) => {
    for (let i = 0; i < out; i++) for (let j = 0; j < n; j++) merged[i * n + j] += w[i * n + j] * m[k][j];
  });
  const errors = deltas.map((w) => {
    const diff = merged.map((v, i) => v - w[i]);
    return frobeniusOfProductT(diff, w, out, out, n) / frobeniusOfProductT(w, w, out, out, n);
  });
  let penalty = 0;
  for (let i = 0; i < inputs.length; i++) for (let k = i + 1; k < inputs.length; k++) for (let j = 0; j < n; j++) penalty += Math.abs(m[i][j] * m[k][j]);
  penalty = (lambda * penalty) / n;
  return { errors, penalty, loss: errors.reduce((a, e) => a + e, 0) + penalty, merged };
}
