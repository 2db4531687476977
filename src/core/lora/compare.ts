/**
 * Compares two LoRAs: pairs their layers, then measures each pair (column cosine, and the norm of each side)
 * from r × r Grams. Reads one pair at a time, and the next pair's tensors while the current one is computed.
 */
import { basename } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { SafetensorsError } from '../safetensors/errors';
import { columnFormsTf } from './column-forms-tf';
import { readStoredFactors, StoredFactors, toLayerFactors } from './factors';
import { columnCosine, ColumnCosine, layerGrams, NonFiniteFactorError, summarizeColumns } from './layer-stats';
import { OpenLora } from './open-lora';
import { LayerPair, pairLayers, PairingReport } from './pairing';

export interface PairMeasures extends ColumnCosine {
  readonly module: string;
}

export interface Comparison {
  readonly report: PairingReport;
  readonly measures: readonly PairMeasures[];
}

export interface CompareOptions {
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * A tfjs instance (in practice the wasm backend) to compute the column forms in float32 with fast matrix
   * products; without one they are computed in float64 by the JavaScript Gram kernels (compare takes ~2× as long).
   */
  readonly tf?: typeof TF;
}

export async function compareLoras(first: OpenLora, second: OpenLora, options: CompareOptions = {}): Promise<Comparison> {
  const { onProgress, tf } = options;
  const report = pairLayers(
    { name: basename(first.file.path), layers: first.lora.layers, baseModel: first.lora.baseModel },
    { name: basename(second.file.path), layers: second.lora.layers, baseModel: second.lora.baseModel },
  );
  const measures: PairMeasures[] = [];
  if (report.incompatibility) return { report, measures };
  const load = (pair: LayerPair) => Promise.all([readStoredFactors(first.file, pair.first), readStoredFactors(second.file, pair.second)]);
  let next = report.paired.length ? load(report.paired[0]) : undefined;
  for (let i = 0; i < report.paired.length; i++) {
    const pair = report.paired[i];
    const [a, b] = await next!;
    next = i + 1 < report.paired.length ? load(report.paired[i + 1]) : undefined;
    const measured = (tf && columnCosineTf(tf, pair, a, b)) || columnCosineF64(first, second, pair, a, b);
    measures.push({ module: pair.module, ...measured });
    onProgress?.(i + 1, report.paired.length);
  }
  return { report, measures };
}

/** Null when a form is not finite: the float64 path then names the offending tensor (or copes with overflow). */
function columnCosineTf(tf: typeof TF, pair: LayerPair, a: StoredFactors, b: StoredFactors): ColumnCosine | null {
  const { first, second } = pair;
  if (first.columns !== second.columns || first.outFeatures !== second.outFeatures) return null;
  const forms = columnFormsTf(tf, { ...a, rank: first.rank }, { ...b, rank: second.rank }, first.outFeatures, first.columns);
  for (const values of [forms.dots, forms.firstSquares, forms.secondSquares]) {
    for (let j = 0; j < values.length; j++) if (!Number.isFinite(values[j])) return null;
  }
  return summarizeColumns(forms.dots, forms.firstSquares, forms.secondSquares, first.scale, second.scale);
}

function columnCosineF64(first: OpenLora, second: OpenLora, pair: LayerPair, a: StoredFactors, b: StoredFactors): ColumnCosine {
  const ga = withFileName(first, () => layerGrams(pair.first, toLayerFactors(pair.first, a), false));
  const gb = withFileName(second, () => layerGrams(pair.second, toLayerFactors(pair.second, b), false));
  return columnCosine(ga, gb);
}

function withFileName<T>(lora: OpenLora, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    if (error instanceof NonFiniteFactorError) throw new SafetensorsError(lora.file.path, error.message);
    throw error;
  }
}
