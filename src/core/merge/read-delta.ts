/** Reading a LoRA layer's factors in the form the merge math uses. */
import { transpose } from '../linalg/gram';
import { readStoredFactors } from '../lora/factors';
import { LoraLayer } from '../lora/layer';
import { NonFiniteFactorError } from '../lora/layer-stats';
import { SafetensorsError } from '../safetensors/errors';
import { TensorSource } from '../safetensors/reader';
import { FactoredDelta } from './types';

/** A paired layer's factors as the merge math wants them. */
function allFinite(values: Float32Array): boolean {
  // x − x is 0 for every finite x and NaN for NaN and ±Inf: one subtraction per value, no branches.
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] - values[i];
  return sum === 0;
}

/**
 * `source` is the LoRA's open file, or its tensors' bytes already read (a compute thread). B is kept as stored
 * (out × r), or as Bᵀ where the file stores that (MLX): no copy is transposed only to be transposed back.
 */
export async function readDelta(source: TensorSource, layer: LoraLayer): Promise<FactoredDelta> {
  const stored = await readStoredFactors(source, layer);
  for (const [values, tensor] of [[stored.down, layer.down], [stored.up, layer.up]] as const) {
    if (!allFinite(values)) {
      throw new SafetensorsError(source.path, new NonFiniteFactorError(layer, tensor.name).message, 'the LoRA is broken (training diverged?); it cannot be merged');
    }
  }
  const shape = { rank: layer.rank, inFeatures: layer.columns, outFeatures: layer.outFeatures, scale: layer.scale };
  // MLX: lora_a is in × r (so A = lora_aᵀ) and lora_b is r × out, which is already Bᵀ.
  if (stored.transposed) return { ...shape, down: transpose(stored.down, layer.columns, layer.rank), upTransposed: stored.up };
  return { ...shape, down: stored.down, up: stored.up };
}
