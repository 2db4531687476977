/** Reads a layer's factor values, as float32, in the layout the Gram kernels want. */
import { transpose } from '../linalg/gram';
import { SafetensorsFile } from '../safetensors/reader';
import { readFusedFactors } from './fuse-split';
import { LoraLayer } from './layer';

export interface LayerFactors {
  /** A: rank × columns, row-major (a conv's kernel flattened into the columns). */
  readonly down: Float32Array;
  /** Bᵀ: rank × out, row-major — B transposed, so that both factors are stored as rank-many contiguous rows. */
  readonly upTransposed: Float32Array;
}

/** A layer's factors as the file stores them: A (r × columns) and B (out × r), or for MLX Aᵀ and Bᵀ. */
export interface StoredFactors {
  readonly down: Float32Array;
  readonly up: Float32Array;
  readonly transposed: boolean;
}

export async function readStoredFactors(file: SafetensorsFile, layer: LoraLayer): Promise<StoredFactors> {
  if (layer.parts) return readFusedFactors(layer, (part) => readStoredFactors(file, part));
  const [down, up] = await Promise.all([file.readF32(layer.down), file.readF32(layer.up)]);
  return { down, up, transposed: layer.transposed };
}

export function toLayerFactors(layer: LoraLayer, stored: StoredFactors): LayerFactors {
  if (stored.transposed) {
    // MLX: lora_a is in × r (so A = lora_aᵀ) and lora_b is r × out, which is already Bᵀ.
    return { down: transpose(stored.down, layer.columns, layer.rank), upTransposed: stored.up };
  }
  return { down: stored.down, upTransposed: transpose(stored.up, layer.outFeatures, layer.rank) };
}

export async function readLayerFactors(file: SafetensorsFile, layer: LoraLayer): Promise<LayerFactors> {
  return toLayerFactors(layer, await readStoredFactors(file, layer));
}
