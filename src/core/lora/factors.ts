/** Reads a layer's factor values, as float32, in the layout the Gram kernels want. */
import { transpose } from '../linalg/gram';
import { TensorSource } from '../safetensors/reader';
import { readFusedFactors } from './fuse-split';
import { LoraLayer, StoredFactors } from './layer';
import { swapRowHalves } from './swapped-halves';

export interface LayerFactors {
  /** A: rank × columns, row-major (a conv's kernel flattened into the columns). */
  readonly down: Float32Array;
  /** Bᵀ: rank × out, row-major — B transposed, so that both factors are stored as rank-many contiguous rows. */
  readonly upTransposed: Float32Array;
}

export type { StoredFactors } from './layer';

export async function readStoredFactors(file: TensorSource, layer: LoraLayer): Promise<StoredFactors> {
  if (layer.parts) return readFusedFactors(layer, (part) => readStoredFactors(file, part));
  const [down, up] = await Promise.all([file.readF32(layer.down), file.readF32(layer.up)]);
  return { down, up: layer.halvesSwapped ? swapRowHalves(up, layer.outFeatures, layer.rank, layer.transposed) : up, transposed: layer.transposed };
}

export function toLayerFactors(layer: LoraLayer, stored: StoredFactors): LayerFactors {
  if (stored.transposed) {
    // MLX: lora_a is in × r (so A = lora_aᵀ) and lora_b is r × out, which is already Bᵀ.
    return { down: transpose(stored.down, layer.columns, layer.rank), upTransposed: stored.up };
  }
  return { down: stored.down, upTransposed: transpose(stored.up, layer.outFeatures, layer.rank) };
}

export async function readLayerFactors(file: TensorSource, layer: LoraLayer): Promise<LayerFactors> {
  return toLayerFactors(layer, await readStoredFactors(file, layer));
}
