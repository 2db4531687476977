/**
 * The unit of work of a compute thread: a batch of paired layers, sent as the bytes of their factor tensors
 * exactly as read from the files. The thread decodes them, solves the batch (solveBatch), builds each merged
 * layer and encodes it in the output dtype, so the merge's main thread only reads and writes files.
 */
import { LoraLayer } from '../lora/layer';
import { TensorInfo } from '../safetensors/header';
import { decodeToF32, encodeFromF32 } from '../safetensors/float';
import { SafetensorsFile, TensorSource } from '../safetensors/reader';
import { ComputeBackend } from './backends';
import { mergedFactors, WritableDtype } from './merged-tensors';
import { targetUp, WriteTarget } from './output-layout';
import { readDelta } from './read-delta';
import { reduceRank } from '../linalg/reduce-rank';
import { ColumnMode, FactoredDelta, orientForColumns } from './types';
import { solveTwoWayBatch, TwoWayBatchSettings as BatchSettings, TwoWayLayerResult as LayerResult } from './two-way-bridge';

/** One side of a paired layer: the layer as described from its file, and its tensors' bytes by name. */
export interface LayerBytes {
  readonly path: string;
  readonly layer: LoraLayer;
  readonly tensors: Readonly<Record<string, Uint8Array>>;
}

export interface LayerJob {
  readonly content: LayerBytes;
  readonly style: LayerBytes;
  readonly dtype: WritableDtype;
  /** One entry per up tensor written: where it goes and which rows of the merged up it holds (output-layout.ts). */
  readonly targets: readonly WriteTarget[];
  /** The rank written (output-plan.ts): below r_c + r_s, the merged layer is reduced to it by truncated SVD. */
  readonly rank: number;
}

export interface BatchJob {
  readonly layers: readonly LayerJob[];
  /** Passed to solveBatch as it is. */
  readonly settings: BatchSettings;
  readonly columns: ColumnMode;
}

/** A merged layer, ready to write: its solution and measures, and its tensors encoded in the output dtype. */
export interface LayerOutput {
  readonly result: LayerResult;
  readonly down: Uint8Array;
  readonly ups: readonly Uint8Array[];
  readonly alpha: Uint8Array;
  readonly rank: number;
  readonly retainedEnergy?: number;
}

/** The tensors a layer's factors are read from (each part's, for a layer fused from split parts). */
export function layerTensors(layer: LoraLayer): TensorInfo[] {
  return layer.parts ? layer.parts.flatMap((part) => layerTensors(part.layer)) : [layer.down, layer.up];
}

export async function readLayerBytes(file: SafetensorsFile, layer: LoraLayer): Promise<LayerBytes> {
  const tensors: Record<string, Uint8Array> = {};
  for (const info of layerTensors(layer)) tensors[info.name] = await file.readBytes(info);
  return { path: file.path, layer, tensors };
}

/** Reads from bytes already read, with the file's own checks (dtype) and error wording. */
function bytesSource(bytes: LayerBytes): TensorSource {
  return {
    path: bytes.path,
    readF32: async (tensor: TensorInfo | string) => {
      const name = typeof tensor === 'string' ? tensor : tensor.name;
      const info = typeof tensor === 'string' ? layerTensors(bytes.layer).find((t) => t.name === name)! : tensor;
      return decodeToF32(info.dtype, bytes.tensors[name]);
    },
  };
}

export async function runBatchJob(backend: ComputeBackend, job: BatchJob): Promise<LayerOutput[]> {
  const deltas: { content: FactoredDelta; style: FactoredDelta }[] = [];
  for (const layer of job.layers) {
    deltas.push({ content: await readDelta(bytesSource(layer.content), layer.content.layer), style: await readDelta(bytesSource(layer.style), layer.style.layer) });
  }
  const inputs = deltas.map((d) => ({ content: orientForColumns(d.content, job.columns), style: orientForColumns(d.style, job.columns) }));
  const results = await solveTwoWayBatch(backend, inputs, job.settings, async () => undefined);
  return job.layers.map((layer, i) => {
    const { content, style } = deltas[i];
    const full = mergedFactors(content, style, results[i], job.columns);
    const reduced = layer.rank < full.rank ? reduceRank(full.up, full.down, content.outFeatures, full.rank, content.inFeatures, layer.rank) : undefined;
    const merged = reduced ?? full;
    return {
      result: results[i],
      down: encodeFromF32(layer.dtype, merged.down),
      ups: layer.targets.map((target) => encodeFromF32(layer.dtype, targetUp(merged.up, merged.rank, target))),
      alpha: encodeFromF32(layer.dtype, new Float32Array([merged.rank])),
      rank: merged.rank,
      ...(reduced ? { retainedEnergy: reduced.retainedEnergy } : {}),
    };
  });
}

/** The buffers of a job or of its outputs, handed over (not copied) between threads. */
export function jobBuffers(job: BatchJob): ArrayBuffer[] {
  return job.layers.flatMap((l) => [...Object.values(l.content.tensors), ...Object.values(l.style.tensors)].map((t) => t.buffer as ArrayBuffer));
}

export function outputBuffers(outputs: readonly LayerOutput[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const o of outputs) {
    const r = o.result;
    for (const array of [o.down, ...o.ups, o.alpha, r.mContent, r.mStyle, r.losses, r.columnInner, r.columnContentSquares, r.columnStyleSquares]) buffers.add(array.buffer as ArrayBuffer);
  }
  return [...buffers];
}
