/**
 * The merged layer's tensors, from the two layers' factors and the solved coefficients: what the merged file
 * stores for a paired layer (computed on a compute thread, written by the merge's main thread).
 */
import { LoraLayer } from '../lora/layer';
import { MergeRequest } from './request';
import { FactoredDelta } from './types';

export type WritableDtype = 'F16' | 'BF16' | 'F32';

/** The coefficients of one merged layer. */
export interface LayerCoefficients {
  readonly mContent: Float32Array;
  readonly mStyle: Float32Array;
}

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
 * The merged factors of one layer: up = [s_c·B_c, s_s·B_s], down = [A_c·diag(m_c); A_s·diag(m_s)], or with
 * output-feature columns the rows of up scaled instead. Scales are folded into up, so the layer's scale is 1.
 */
export function mergedFactors(content: FactoredDelta, style: FactoredDelta, solution: LayerCoefficients, columns: 'input' | 'output'): MergedFactors {
  const out = content.outFeatures;
  const cols = content.inFeatures;
  const R = content.rank + style.rank;
  const up = new Float32Array(out * R);
  const down = new Float32Array(R * cols);
  const parts: [FactoredDelta, Float32Array, number][] = [[content, solution.mContent, 0], [style, solution.mStyle, content.rank]];
  // The branches are hoisted out of the loops; x·1 is x exactly, so every value is the same as one formula's.
  for (const [delta, m, offset] of parts) {
    const { scale } = delta;
    for (let a = 0; a < delta.rank; a++) {
      const from = a * cols;
      const to = (offset + a) * cols;
      if (columns === 'input') for (let j = 0; j < cols; j++) down[to + j] = delta.down[from + j] * m[j];
      else down.set(delta.down.subarray(from, from + cols), to);
      const column = a * out;
      if (columns === 'output') for (let i = 0; i < out; i++) up[i * R + offset + a] = delta.upTransposed[column + i] * scale * m[i];
      else for (let i = 0; i < out; i++) up[i * R + offset + a] = delta.upTransposed[column + i] * scale;
    }
  }
  return { up, down, rank: R };
}
