/**
 * A batch of layers of equal (in, r_1..r_N) as tensors on a compute backend, and the N-way ZipLoRA objective on
 * it: loss and analytic gradient per layer (tested against a float64 reference, docs/merge-method.md §2). Every
 * product goes through thin matrices (R × in, R × r, R × out, R = Σ r_i), never out × in. Input i's rows of the
 * stacked factors are offsets[i] … offsets[i] + ranks[i]. With N = 2 every operation is the one the two-way
 * solver ran, in the same order, so its results are the same to the bit.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { FactoredDelta, inputPairs, LayerInput } from './types';

export type Tensor3D = TF.Tensor3D;

/** The tensors of one batch that every evaluation reuses; `dispose` frees them all. */
export interface PreparedBatch {
  readonly tf: typeof TF;
  /** Layers in the batch. */
  readonly size: number;
  readonly inFeatures: number;
  /** r_i per input, and the first row of input i in the stacked factors (Σ_{k<i} r_k). */
  readonly ranks: readonly number[];
  readonly offsets: readonly number[];
  /** A_i (r_i × in) per input, and their transposes (in × r_i). */
  readonly downs: readonly Tensor3D[];
  readonly downsT: readonly Tensor3D[];
  /** G = B̃ᵀB̃ (R × R) with B̃ = [s_1·B_1, …, s_N·B_N], and its diagonal blocks H_i = s_i²·B_iᵀB_i. */
  readonly gram: Tensor3D;
  readonly ownGrams: readonly Tensor3D[];
  /** 1/N_i per fidelity term (0 for a layer whose delta is zero). */
  readonly invNorms: readonly Tensor3D[];
  /** λ / in: the penalty is λ·mean_j Σ_{i<k} |m_i[j]·m_k[j]|. */
  readonly penaltyScale: number;
  dispose(): void;
}

/**
 * One block of rows of a stacked tensor: `values` holds rows of `rowLength` values, or with `columnMajor` their
 * transpose (rowLength × rows, a factor kept as read), each value times `scale`.
 */
interface RowBlock {
  readonly values: ArrayLike<number>;
  readonly rowLength: number;
  readonly scale?: number;
  readonly columnMajor?: boolean;
}

/**
 * Stacks per-layer row blocks into [layers, rows, cols]; a block whose rows are shorter than `cols` is padded
 * with zeros on the right.
 */
function stack(tf: typeof TF, parts: RowBlock[][], rows: number, cols: number): Tensor3D {
  const data = new Float32Array(parts.length * rows * cols);
  parts.forEach((layer, b) => {
    let row = b * rows;
    for (const { values, rowLength, scale = 1, columnMajor = false } of layer) {
      const count = values.length / rowLength;
      if (columnMajor) {
        // Row r is column r of the stored matrix: the same values a transposed copy gives, written in order.
        for (let r = 0; r < count; r++) {
          const to = (row + r) * cols;
          for (let i = 0; i < rowLength; i++) data[to + i] = values[i * count + r] * scale;
        }
        row += count;
        continue;
      }
      // Whole rows unscaled are one copy (x·1 is x exactly, so the values are the same as the loop's).
      if (scale === 1 && rowLength === cols && values instanceof Float32Array) {
        data.set(values, row * cols);
        row += count;
        continue;
      }
      for (let r = 0; r < count; r++, row++) {
        const to = row * cols;
        const from = r * rowLength;
        for (let i = 0; i < rowLength; i++) data[to + i] = values[from + i] * scale;
      }
    }
  });
  return tf.tensor3d(data, [parts.length, rows, cols]);
}

/** Input d's rows of the stacked Bᵀ, from B as read where the delta has no transposed copy. */
function upRows(d: FactoredDelta): RowBlock {
  return d.upTransposed ? { values: d.upTransposed, rowLength: d.outFeatures, scale: d.scale } : { values: d.up, rowLength: d.outFeatures, scale: d.scale, columnMajor: true };
}

/** G = B̃ᵀB̃ ([B, R, R]): the up factors enter the objective only through this Gram. */
function upGram(tf: typeof TF, layers: readonly LayerInput[], R: number): Tensor3D {
  const out = Math.max(...layers.map((l) => l.inputs[0].outFeatures));
  const upT = stack(
    tf,
    layers.map((l) => l.inputs.map(upRows)),
    R,
    out,
  );
  try {
    return tf.tidy(() => tf.matMul(upT, tf.transpose(upT, [0, 2, 1])) as Tensor3D);
  } finally {
    upT.dispose();
  }
}

/** 1/N with N = ‖ΔW·ΔWᵀ‖² = tr((A·Aᵀ·H)²); a layer with a zero delta has no fidelity term (weight 0, not 1/0). */
function inverseFidelityNorm(tf: typeof TF, down: Tensor3D, downT: Tensor3D, h: Tensor3D): Tensor3D {
  return tf.tidy(() => {
    const p = tf.matMul(tf.matMul(down, downT), h);
    const norm = tf.sum(tf.mul(p, tf.transpose(p, [0, 2, 1])), [1, 2], true);
    return tf.where(tf.greater(norm, 0), tf.div(1, norm), tf.zerosLike(norm)) as Tensor3D;
  });
}

/** Checks that every layer of a batch has the batch's input count, in and ranks: a caller's bug otherwise. */
function checkShapes(layers: readonly LayerInput[]): void {
  const first = layers[0].inputs;
  if (first.length < 2) throw new Error(`A merge layer needs at least two inputs, got ${first.length}`);
  for (const layer of layers) {
    const same = layer.inputs.length === first.length && layer.inputs.every((d, i) => d.rank === first[i].rank && d.inFeatures === first[0].inFeatures && d.outFeatures === layer.inputs[0].outFeatures);
    if (!same) throw new Error('A batch must hold layers of equal input count, in and ranks (planBatches groups them), and each layer equal out across its inputs');
  }
}

/** Uploads a batch's factors and computes what every evaluation reuses (Grams, norms). */
export function prepareBatch(tf: typeof TF, layers: readonly LayerInput[], lambda: number): PreparedBatch {
  checkShapes(layers);
  const B = layers.length;
  const n = layers[0].inputs[0].inFeatures;
  const ranks = layers[0].inputs.map((d) => d.rank);
  const offsets = ranks.map((_, i) => ranks.slice(0, i).reduce((a, r) => a + r, 0));
  const R = ranks.reduce((a, r) => a + r, 0);
  const owned: TF.Tensor[] = [];
  const keep = <T extends TF.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  try {
    const downs = ranks.map((r, i) => keep(stack(tf, layers.map((l) => [{ values: l.inputs[i].down, rowLength: n }]), r, n)));
    // Transposed copies (in × r), made once: weighting by m is then a broadcast over rows, reductions run along
    // the last axis, and every product in the loop is a plain, un-transposed one (XNNPACK's fast path on wasm).
    const downsT = downs.map((d) => keep(tf.transpose(d, [0, 2, 1])));
    const gram = keep(upGram(tf, layers, R));
    const ownGrams = ranks.map((r, i) => keep(tf.slice(gram, [0, offsets[i], offsets[i]], [B, r, r])));
    return {
      tf,
      size: B,
      inFeatures: n,
      ranks,
      offsets,
      downs,
      downsT,
      gram,
      ownGrams,
      invNorms: ranks.map((_, i) => keep(inverseFidelityNorm(tf, downs[i], downsT[i], ownGrams[i]))),
      penaltyScale: lambda / n,
      dispose: () => tf.dispose(owned),
    };
  } catch (error) {
    tf.dispose(owned);
    throw error;
  }
}

/** The same batch with another λ: shares (and does not own) the batch's tensors. */
export function withLambda(p: PreparedBatch, lambda: number): PreparedBatch {
  return { ...p, penaltyScale: lambda / p.inFeatures, dispose: () => undefined };
}

export interface FidelityTerm {
  readonly error: TF.Tensor;
  /** The gradient with respect to each input's weights, [B, in, 1] each. */
  readonly gradients?: Tensor3D[];
}

/**
 * Input t's fidelity term: Z = [A_1·diag(w_1); …; A_N·diag(w_N)]·A_tᵀ, error = tr(ZᵀGZH_t)/N_t, and (unless only
 * the value is wanted) the gradient with respect to every w_i: column j is A_i[:, j]ᵀ·(2/N_t·G·Z·H_t·A_t)[:, j].
 */
function fidelityTerm(p: PreparedBatch, weights: readonly Tensor3D[], target: number, withGradient: boolean): FidelityTerm {
  const { tf, size: B } = p;
  const targetT = p.downsT[target];
  const rt = p.ranks[target];
  const z = tf.concat(
    p.downs.map((down, i) => tf.matMul(down, tf.mul(targetT, weights[i]))),
    1,
  ) as Tensor3D;
  const t = tf.matMul(tf.matMul(p.gram, z), p.ownGrams[target]) as Tensor3D;
  const invNorm = p.invNorms[target];
  const error = tf.mul(tf.sum(tf.mul(z, t), [1, 2], true), invNorm);
  if (!withGradient) return { error };
  const yT = tf.transpose(tf.mul(t, tf.mul(invNorm, 2)), [0, 2, 1]) as Tensor3D;
  const gradients = p.ranks.map((r, i) => {
    const product = tf.matMul(targetT, tf.slice(yT, [0, 0, p.offsets[i]], [B, rt, r]));
    return tf.sum(tf.mul(p.downsT[i], product), 2, true) as Tensor3D;
  });
  return { error, gradients };
}

/** Every input's fidelity term (input t: ΔW_t) at coefficients m (one [B, in, 1] per input). */
export function fidelityTerms(p: PreparedBatch, m: readonly Tensor3D[], withGradient: boolean): FidelityTerm[] {
  const { tf } = p;
  // Input t's term weighs its own rows by m_t − 1 (the merge minus ΔW_t), applied per coefficient: no
  // cancellation between large terms.
  return m.map((_, t) => fidelityTerm(p, m.map((mi, i) => (i === t ? (tf.sub(mi, 1) as Tensor3D) : mi)), t, withGradient));
}

/** λ·mean_j Σ_{i<k} |m_i[j]·m_k[j]| per layer, shaped [B, 1, 1]. */
export function penalty(p: PreparedBatch, m: readonly Tensor3D[]): TF.Tensor {
  const { tf } = p;
  const sums = inputPairs(m.length).map(([i, k]) => tf.sum(tf.abs(tf.mul(m[i], m[k])), [1, 2], true));
  return tf.mul(sums.reduce((a, b) => tf.add(a, b)), p.penaltyScale);
}

/** Loss per layer (fidelity terms + penalty) and its gradient per input; the caller disposes the results. */
export function lossAndGradient(p: PreparedBatch, m: readonly Tensor3D[]): { loss: TF.Tensor1D; gradients: Tensor3D[] } {
  const { tf } = p;
  return tf.tidy(() => {
    const terms = fidelityTerms(p, m, true);
    // d/dm_i of |m_i·m_k| = sign(m_i·m_k)·m_k, for every pair that holds input i.
    const penaltyParts: TF.Tensor[][] = m.map(() => []);
    for (const [i, k] of inputPairs(m.length)) {
      const sign = tf.sign(tf.mul(m[i], m[k]));
      penaltyParts[i].push(tf.mul(tf.mul(sign, m[k]), p.penaltyScale));
      penaltyParts[k].push(tf.mul(tf.mul(sign, m[i]), p.penaltyScale));
    }
    const gradients = m.map((_, i) => tf.addN([...terms.map((term) => term.gradients![i]), ...penaltyParts[i]]) as Tensor3D);
    const loss = tf.reshape(tf.addN([...terms.map((term) => term.error), penalty(p, m)]), [p.size]) as TF.Tensor1D;
    return { loss, gradients };
  });
}
