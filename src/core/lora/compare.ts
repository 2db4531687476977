/**
 * Compares two LoRAs: pairs their layers, then measures each pair (column cosine, and the norm of each side)
 * from r × r Grams. Reads one pair at a time, and the next pair's tensors while the current one is computed.
 */
import { basename } from 'node:path';
import { SafetensorsError } from '../safetensors/errors';
import { readLayerFactors } from './factors';
import { columnCosine, ColumnCosine, layerGrams, NonFiniteFactorError } from './layer-stats';
import { OpenLora } from './open-lora';
import { LayerPair, pairLayers, PairingReport } from './pairing';

export interface PairMeasures extends ColumnCosine {
  readonly module: string;
}

export interface Comparison {
  readonly report: PairingReport;
  readonly measures: readonly PairMeasures[];
}

export async function compareLoras(first: OpenLora, second: OpenLora, onProgress?: (done: number, total: number) => void): Promise<Comparison> {
  const report = pairLayers(
    { name: basename(first.file.path), layers: first.lora.layers, baseModel: first.lora.baseModel },
    { name: basename(second.file.path), layers: second.lora.layers, baseModel: second.lora.baseModel },
  );
  const measures: PairMeasures[] = [];
  if (report.incompatibility) return { report, measures };
  const load = (pair: LayerPair) => Promise.all([readLayerFactors(first.file, pair.first), readLayerFactors(second.file, pair.second)]);
  let next = report.paired.length ? load(report.paired[0]) : undefined;
  for (let i = 0; i < report.paired.length; i++) {
    const pair = report.paired[i];
    const [a, b] = await next!;
    next = i + 1 < report.paired.length ? load(report.paired[i + 1]) : undefined;
    const ga = withFileName(first, () => layerGrams(pair.first, a, false));
    const gb = withFileName(second, () => layerGrams(pair.second, b, false));
    measures.push({ module: pair.module, ...columnCosine(ga, gb) });
    onProgress?.(i + 1, report.paired.length);
  }
  return { report, measures };
}

function withFileName<T>(lora: OpenLora, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    if (error instanceof NonFiniteFactorError) throw new SafetensorsError(lora.file.path, error.message);
    throw error;
  }
}
