/** Reading a LoRA layer's factors in the form the merge math uses. */
import { readLayerFactors } from '../lora/factors';
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

/** `source` is the LoRA's open file, or its tensors' bytes already read (a compute thread). */
export async function readDelta(source: TensorSource, layer: LoraLayer): Promise<FactoredDelta> {
  const factors = await readLayerFactors(source, layer);
  for (const [values, tensor] of [[factors.down, layer.down], [factors.upTransposed, layer.up]] as const) {
    if (!allFinite(values)) {
      throw new SafetensorsError(source.path, new NonFiniteFactorError(layer, tensor.name).message, 'the LoRA is broken (training diverged?); it cannot be merged');
    }
  }
  return {
    down: factors.down,
    upTransposed: factors.upTransposed,
    rank: layer.rank,
    inFeatures: layer.columns,
    outFeatures: layer.outFeatures,
    scale: layer.scale,
  };
}

