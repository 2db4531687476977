/** Reads a layer's factor values, as float32, in the layout the Gram kernels want. */
import { transpose } from '../linalg/gram';
import { SafetensorsFile } from '../safetensors/reader';
import { LoraLayer } from './layer';

export interface LayerFactors {
  /** A: rank × columns, row-major (a conv's kernel flattened into the columns). */
  readonly down: Float32Array;
  /** Bᵀ: rank × out, row-major — B transposed, so that both factors are stored as rank-many contiguous rows. */
  readonly upTransposed: Float32Array;
}

export async function readLayerFactors(file: SafetensorsFile, layer: LoraLayer): Promise<LayerFactors> {
  const [down, up] = await Promise.all([file.readF32(layer.down), file.readF32(layer.up)]);
  if (layer.transposed) {
    // MLX: lora_a is in × r (so A = lora_aᵀ) and lora_b is r × out, which is already Bᵀ.
    return { down: transpose(down, layer.columns, layer.rank), upTransposed: up };
  }
  return { down, upTransposed: transpose(up, layer.outFeatures, layer.rank) };
}
