/**
 * The merge's peak memory, estimated before any layer is read, from the layer shapes, the batches and the
 * thread count; and the thread count that fits the memory the machine has free. What stays resident while a
 * merge runs (pipeline.ts, compute-pool.ts, layer-flow.ts, layer-job.ts, batch-tensors.ts):
 * - the worker process itself (Node, the core modules, the parsed headers) and, per merged layer, what the
 *   merge keeps until the sidecar is written (its coefficients m_c and m_s, its report);
 * - per compute thread, its engine (tfjs and its backend) and its working set: the batch's factors as read,
 *   decoded and uploaded, the solver's tensors (a few R × in per layer: A, Aᵀ, their fused copies and the
 *   products of one evaluation), the merged factors and their encoding. A WebAssembly heap never shrinks, so a
 *   thread keeps the working set of the largest batch it solved: every thread is counted at the largest;
 * - the layers in flight between read and write (layer-flow.ts's window): their bytes as read and, once
 *   solved, encoded;
 * - the writer and the hashes stream one tensor or one chunk at a time (part of the process's base).
 * The coefficients are calibrated on the SDXL and Wan 2.1 14B benchmark pairs (bench/memory.ts).
 */
import { ProblemShape } from './ziplora-solver';

const MiB = 2 ** 20;

/**
 * The worker's own memory before any layer is read (Node, the core modules, headers, the writer's and the
 * hashes' buffers, the allocator's slack): fitted to the measured peaks (bench/memory.ts, the SDXL pair and
 * the Wan pair at 1 and 2 threads: the estimate is then within 10 % of each; the per-thread part matched the
 * model, the rest was this constant).
 */
export const PROCESS_BASE_BYTES = 165 * MiB;
/** One compute thread's engine: its isolate, tfjs and the backend's module, before the first batch. */
export const THREAD_ENGINE_BYTES = 40 * MiB;
/** The solver's and the thread's float32 copies per R × in and per R × out of a batch (see the list above). */
const WORK_PER_R_BY_IN = 12;
const WORK_PER_R_BY_OUT = 5;
/**
 * What the merge keeps per layer until the sidecar: m_c, m_s (float32, 8 bytes per input feature) and the report's
 * objects, and the heap's headroom over them. Per input feature it is fitted to the growth of the measured peak
 * with the layer count: the Wan 2.1 14B pair at 2 threads peaks at 470, 532 and 573 MiB for 4, 20 and 40 blocks
 * (bench/memory.ts, 2026-12-06), ≈ 50 bytes per input feature merged, not the 8 the coefficients alone take.
 */
const KEPT_PER_IN = 48;
const KEPT_PER_LAYER = 4096;

/** One paired layer as the estimate sees it: its problem's shape and the bytes per value read and written. */
export interface LayerFootprint {
  readonly shape: ProblemShape;
  /** Bytes per value of the inputs' factors (2 for F16/BF16, 4 for F32). */
  readonly inputBytesPerValue: number;
  /** Bytes per value of the merged factors written. */
  readonly outputBytesPerValue: number;
}

export interface MemoryPlan {
  readonly layers: readonly LayerFootprint[];
  /** Layer indices per batch (planBatches); one layer per batch on the WebAssembly and plain-JS backends. */
  readonly batches: readonly (readonly number[])[];
  readonly threads: number;
  /** Layers read ahead per thread (layer-flow.ts's window is this × threads). */
  readonly layersAheadPerThread: number;
}

export interface MemoryEstimate {
  readonly totalBytes: number;
  readonly baseBytes: number;
  /** Engines and working sets of every thread. */
  readonly threadBytes: number;
  /** Layers read and not yet written. */
  readonly inFlightBytes: number;
}

const floats = (count: number) => 4 * count;

/** R = Σ r_i: the solver works at the inputs' summed rank. */
const totalRank = (shape: ProblemShape) => shape.ranks.reduce((a, r) => a + r, 0);

/** A batch's working set on its thread: the solver's tensors, the decoded and the merged factors. */
export function batchWorkingBytes(layers: readonly LayerFootprint[]): number {
  let bytes = 0;
  for (const { shape } of layers) {
    const R = totalRank(shape);
    bytes += floats(WORK_PER_R_BY_IN * R * shape.inFeatures + WORK_PER_R_BY_OUT * R * shape.outFeatures + 4 * R * R);
  }
  return bytes;
}

/** A layer between read and write: its factors as read, and its merged factors encoded. */
function heldBytes({ shape, inputBytesPerValue, outputBytesPerValue }: LayerFootprint): number {
  const R = totalRank(shape);
  return R * (shape.inFeatures + shape.outFeatures) * (inputBytesPerValue + outputBytesPerValue);
}

export function estimateMergeMemory(plan: MemoryPlan): MemoryEstimate {
  const kept = plan.layers.reduce((sum, l) => sum + floats(KEPT_PER_IN * l.shape.inFeatures / 4) + KEPT_PER_LAYER, 0);
  const baseBytes = PROCESS_BASE_BYTES + kept;
  const largestBatch = Math.max(0, ...plan.batches.map((batch) => batchWorkingBytes(batch.map((i) => plan.layers[i]))));
  const threadBytes = plan.threads * (THREAD_ENGINE_BYTES + largestBatch);
  // The window holds at most this many layers (plus the one batch the writer waits for): count the largest.
  const window = plan.layersAheadPerThread * plan.threads;
  const held = plan.layers.map(heldBytes).sort((a, b) => b - a);
  const inFlightBytes = held.slice(0, window).reduce((a, b) => a + b, 0);
  return { totalBytes: baseBytes + threadBytes + inFlightBytes, baseBytes, threadBytes, inFlightBytes };
}

export class NotEnoughMemoryError extends Error {
  override name = 'NotEnoughMemoryError';
}

const size = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`);

export interface ThreadsThatFit {
  readonly threads: number;
  readonly estimate: MemoryEstimate;
}

/**
 * The most threads, from `plan.threads` down to 1, whose estimate fits in `freeBytes` (memory the machine has
 * free beyond what the process already holds, `residentBytes`); a merge that does not fit even on one thread
 * is refused with what it needs and what to change.
 */
export function threadsThatFit(plan: MemoryPlan, freeBytes: number, residentBytes: number): ThreadsThatFit {
  for (let threads = plan.threads; threads >= 1; threads--) {
    const estimate = estimateMergeMemory({ ...plan, threads });
    if (estimate.totalBytes - residentBytes <= freeBytes) return { threads, estimate };
  }
  const one = estimateMergeMemory({ ...plan, threads: 1 });
  const largest = plan.layers.reduce((a, l) => (l.shape.inFeatures * totalRank(l.shape) > a.inFeatures * totalRank(a) ? l.shape : a), plan.layers[0]?.shape ?? { inFeatures: 0, outFeatures: 0, ranks: [0, 0] });
  throw new NotEnoughMemoryError(
    `this merge needs about ${size(one.totalBytes)} of memory even with --threads 1, ${size(one.totalBytes - residentBytes)} more than the worker holds, and ${size(Math.max(0, freeBytes))} is free: ` +
      `close other programs or merge on a machine with more memory (the solver works at the inputs' rank ${largest.ranks.join(' + ')} on ${largest.inFeatures} features; --rank lowers only what is written)`,
  );
}
