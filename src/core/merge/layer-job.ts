/**
 * The unit of work of a compute thread: a batch of layers merged from two or more inputs, sent as the bytes of
 * their factor tensors exactly as read from the files, with each input's weight. The thread decodes them, solves the batch (solveBatch), builds each merged
 * layer and encodes it in the output dtype, so the merge's main thread only reads and writes files.
 */
import { LoraLayer } from '../lora/layer';
import { TensorInfo } from '../safetensors/header';
import { decodeToF32, encodeFromF32 } from '../safetensors/float';
import { SafetensorsFile, TensorSource } from '../safetensors/reader';
import { ComputeBackend } from './backends';
import { measureDirect } from './direct-measures';
import { mergedFactors, WritableDtype } from './merged-tensors';
import { targetUp, WriteTarget } from './output-layout';
import { readDelta } from './read-delta';
import { reduceRank, reduceRankToEnergy } from '../linalg/reduce-rank';
import { ColumnMode, FactoredDelta, orientForColumns } from './types';
import { MergedLayerResult } from './batch-measures';
import { BatchSettings, solveBatch } from './ziplora-solver';

/** One input's layer of a merged group: the layer as described from its file, and its tensors' bytes by name. */
export interface LayerBytes {
  readonly path: string;
  readonly layer: LoraLayer;
  readonly tensors: Readonly<Record<string, Uint8Array>>;
}

export interface LayerJob {
  /** The inputs present in this layer, in input order (two or more). */
  readonly inputs: readonly LayerBytes[];
  /** Each input's effective weight here (strength × block weight), folded into its ΔW's scale before the solve. */
  readonly weights: readonly number[];
  readonly dtype: WritableDtype;
  /** One entry per up tensor written: where it goes and which rows of the merged up it holds (output-layout.ts). */
  readonly targets: readonly WriteTarget[];
  /** The most rank written (output-plan.ts): below Σ r_i, the merged layer is reduced to it by truncated SVD. */
  readonly rank: number;
  /** `--rank-energy`: the smallest rank keeping this share of ‖ΔW‖² (at most `rank`). */
  readonly rankEnergy?: number;
}

export interface BatchJob {
  readonly layers: readonly LayerJob[];
  /** Passed to solveBatch as it is; `direct`: measured at m = 1 (direct-measures.ts), nothing solved. */
  readonly settings: BatchSettings | 'direct';
  readonly columns: ColumnMode;
}

/** A merged layer, ready to write: its solution and measures, and its tensors encoded in the output dtype. */
export interface LayerOutput {
  readonly result: MergedLayerResult;
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

/** An input's ΔW with its weight folded into the scale (w = 1 leaves every value as it is). */
async function weightedDelta(bytes: LayerBytes, weight: number): Promise<FactoredDelta> {
  const delta = await readDelta(bytesSource(bytes), bytes.layer);
  return weight === 1 ? delta : { ...delta, scale: delta.scale * weight };
}

/** The merged layer, reduced by truncated SVD where the plan's rank or `--rank-energy` asks for less than Σ r_i. */
function reduced(job: LayerJob, up: Float32Array, down: Float32Array, out: number, R: number, cols: number) {
  if (job.rankEnergy !== undefined) return reduceRankToEnergy(up, down, out, R, cols, job.rankEnergy, job.rank);
  return job.rank < R ? reduceRank(up, down, out, R, cols, job.rank) : undefined;
}

/**
 * The merged down's bytes copied from the inputs', where the merge leaves every down row as it was (all
 * coefficients 1, or output-feature columns) and each input's down is stored in the output dtype, untransposed,
 * unfused: BF16 and F32 values decode and encode back to the same bits (finite ones, and readDelta refuses the
 * others), so the copy is what encoding the merged down gives, without the float32 round trip.
 */
function passedDown(layer: LayerJob, m: readonly Float32Array[], columns: ColumnMode): Uint8Array | undefined {
  if (layer.dtype !== 'BF16' && layer.dtype !== 'F32') return undefined;
  if (columns === 'input' && !m.every((coefficients) => coefficients.every((c) => c === 1))) return undefined;
  const stored = layer.inputs.map(({ layer: input, tensors }) => (input.transposed || input.parts || input.down.dtype !== layer.dtype ? undefined : tensors[input.down.name]));
  if (stored.some((bytes) => bytes === undefined)) return undefined;
  const down = new Uint8Array(stored.reduce((sum, bytes) => sum + bytes!.byteLength, 0));
  let offset = 0;
  for (const bytes of stored) {
    down.set(bytes!, offset);
    offset += bytes!.byteLength;
  }
  return down;
}

export async function runBatchJob(backend: ComputeBackend, job: BatchJob): Promise<LayerOutput[]> {
  const deltas: FactoredDelta[][] = [];
  for (const layer of job.layers) {
    const weighted: FactoredDelta[] = [];
    for (let i = 0; i < layer.inputs.length; i++) weighted.push(await weightedDelta(layer.inputs[i], layer.weights[i]));
    deltas.push(weighted);
  }
  const problems = deltas.map((inputs) => ({ inputs: inputs.map((d) => orientForColumns(d, job.columns)) }));
  const results = job.settings === 'direct' ? await measureDirect(backend, problems) : await solveBatch(backend, problems, job.settings, async () => undefined);
  return job.layers.map((layer, i) => {
    const { outFeatures, inFeatures } = deltas[i][0];
    const full = mergedFactors(deltas[i], results[i].m, job.columns);
    const reduction = reduced(layer, full.up, full.down, outFeatures, full.rank, inFeatures);
    const merged = reduction && reduction.rank < full.rank ? reduction : full;
    return {
      result: results[i],
      down: (merged === full && passedDown(layer, results[i].m, job.columns)) || encodeFromF32(layer.dtype, merged.down),
      ups: layer.targets.map((target) => encodeFromF32(layer.dtype, targetUp(merged.up, merged.rank, target))),
      alpha: encodeFromF32(layer.dtype, new Float32Array([merged.rank])),
      rank: merged.rank,
      ...(merged === reduction ? { retainedEnergy: reduction.retainedEnergy } : {}),
    };
  });
}

/** The buffers of a job or of its outputs, handed over (not copied) between threads. */
export function jobBuffers(job: BatchJob): ArrayBuffer[] {
  return job.layers.flatMap((l) => l.inputs.flatMap((input) => Object.values(input.tensors)).map((t) => t.buffer as ArrayBuffer));
}

export function outputBuffers(outputs: readonly LayerOutput[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const o of outputs) {
    const r = o.result;
    for (const array of [o.down, ...o.ups, o.alpha, ...r.m, r.losses, ...r.columnInner, ...r.columnSquares]) buffers.add(array.buffer as ArrayBuffer);
  }
  return [...buffers];
}
