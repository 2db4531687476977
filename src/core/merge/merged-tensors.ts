/**
 * The merged layer's tensors, from its inputs' factors and the solved coefficients: what the merged file
 * stores for a layer merged from two or more inputs (computed on a compute thread, written by the merge's main thread).
 */
import { LoraLayer } from '../lora/layer';
import { MergeRequest } from './request';
import { FactoredDelta } from './types';

export type WritableDtype = 'F16' | 'BF16' | 'F32';

export interface MergedFactors {
  readonly up: Float32Array;
  readonly down: Float32Array;
  readonly rank: number;
}

export function outputDtype(request: Pick<MergeRequest, 'dtype'>, layer: LoraLayer): WritableDtype {
  if (request.dtype !== 'auto') return request.dtype;
  const dtype = layer.down.dtype;
  return dtype === 'F16' || dtype === 'BF16' ? dtype : 'F32';
}

/** Tensor shapes of a layer of rank r in the file: conv layers keep their 4-D form. */
export function tensorShapes(layer: LoraLayer, rank: number): { down: number[]; up: number[] } {
  if (layer.kind === 'conv') return { down: [rank, layer.inFeatures, layer.kernel[0], layer.kernel[1]], up: [layer.outFeatures, rank, 1, 1] };
  return { down: [rank, layer.inFeatures], up: [layer.outFeatures, rank] };
}

/**
 * The merged factors of one layer from its inputs' factors (their weights already in their scales) and the solved
 * coefficients m_i: up = [s_1·B_1, …, s_N·B_N], down = [A_1·diag(m_1); …; A_N·diag(m_N)] (rank Σ r_i), or with
 * output-feature columns the rows of up scaled instead. Scales are folded into up, so the layer's scale is 1.
 */
export function mergedFactors(deltas: readonly FactoredDelta[], m: readonly Float32Array[], columns: 'input' | 'output'): MergedFactors {
  const out = deltas[0].outFeatures;
  const cols = deltas[0].inFeatures;
  const R = deltas.reduce((sum, d) => sum + d.rank, 0);
  const up = new Float32Array(out * R);
  const down = new Float32Array(R * cols);
  let offset = 0;
  // The branches are hoisted out of the loops; x·1 is x exactly, so every value is the same as one formula's.
  deltas.forEach((delta, input) => {
    const { scale } = delta;
    const coefficients = m[input];
    // All ones (the direct merge): the rows are copied as they are, which is what x·1 gives.
    const scaleColumns = columns === 'input' && !coefficients.every((c) => c === 1);
    for (let a = 0; a < delta.rank; a++) {
      const from = a * cols;
      const to = (offset + a) * cols;
      if (scaleColumns) for (let j = 0; j < cols; j++) down[to + j] = delta.down[from + j] * coefficients[j];
      else down.set(delta.down.subarray(from, from + cols), to);
    }
    const scaleRows = columns === 'output';
    if (delta.upTransposed) {
      const upT = delta.upTransposed;
      for (let a = 0; a < delta.rank; a++) {
        const column = a * out;
        if (scaleRows) for (let i = 0; i < out; i++) up[i * R + offset + a] = upT[column + i] * scale * coefficients[i];
        else for (let i = 0; i < out; i++) up[i * R + offset + a] = upT[column + i] * scale;
      }
    } else {
      // B as read (out × r): its rows go into rows of the merged up, the same values in the same order of operations.
      const b = delta.up;
      const r = delta.rank;
      for (let i = 0; i < out; i++) {
        const from = i * r;
        const to = i * R + offset;
        if (scaleRows) for (let a = 0; a < r; a++) up[to + a] = b[from + a] * scale * coefficients[i];
        else for (let a = 0; a < r; a++) up[to + a] = b[from + a] * scale;
      }
    }
    offset += delta.rank;
  });
  return { up, down, rank: R };
}
