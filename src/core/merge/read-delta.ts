/** Reading a LoRA layer's factors in the form the merge math uses. */
import { readLayerFactors } from '../lora/factors';
import { LoraLayer } from '../lora/layer';
import { layerGrams, NonFiniteFactorError } from '../lora/layer-stats';
import { SafetensorsError } from '../safetensors/errors';
import { OpenLora } from '../lora/open-lora';
import { FactoredDelta } from './types';

/** A paired layer's factors as the merge math wants them. */
export async function readDelta(lora: OpenLora, layer: LoraLayer): Promise<FactoredDelta> {
  const factors = await readLayerFactors(lora.file, layer);
  try {
    layerGrams(layer, factors, false); // checks every value is finite
  } catch (error) {
    if (error instanceof NonFiniteFactorError) throw new SafetensorsError(lora.file.path, error.message, 'the LoRA is broken (training diverged?); it cannot be merged');
    throw error;
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

