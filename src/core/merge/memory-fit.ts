/**
 * The merge's memory check, run before the compute threads start: the estimate (memory-estimate.ts) of this
 * merge's layers at the requested thread count, against the memory the machine has free. Fewer threads when
 * that is enough; a one-line refusal when even one thread would not fit.
 */
import os from 'node:os';
import { byteLengthOf } from '../safetensors/dtypes';
import { BACKEND_TRAITS } from './backends';
import { LayerFootprint, MemoryPlan, ThreadsThatFit, threadsThatFit } from './memory-estimate';
import { outputDtype } from './merged-tensors';
import { MergeRequest } from './request';
import { ColumnMode } from './types';
import { MergedGroup } from './weighted-groups';
import { ProblemShape, planBatches } from './ziplora-solver';

/** A merged layer's problem shape from the headers alone, oriented like the problem (output columns swap in and out). */
export function problemShape(group: Pick<MergedGroup, 'members'>, columns: ColumnMode): ProblemShape {
  const first = group.members[0].layer;
  const [inFeatures, outFeatures] = columns === 'input' ? [first.columns, first.outFeatures] : [first.outFeatures, first.columns];
  return { inFeatures, outFeatures, ranks: group.members.map((m) => m.layer.rank) };
}

export function memoryPlan(request: Pick<MergeRequest, 'columns' | 'dtype' | 'backend'>, groups: readonly MergedGroup[], threads: number, layersAheadPerThread: number): MemoryPlan {
  const layers: LayerFootprint[] = groups.map((group) => ({
    shape: problemShape(group, request.columns),
    inputBytesPerValue: group.members.reduce((sum, m) => sum + (byteLengthOf(m.layer.down.dtype, 1) ?? 4), 0) / group.members.length,
    outputBytesPerValue: byteLengthOf(outputDtype(request, group.members[0].layer), 1) ?? 4,
  }));
  // `auto` is estimated as WebAssembly: where a GPU backend is chosen instead, it needs less of this machine's memory.
  const traits = BACKEND_TRAITS[request.backend === 'auto' ? 'wasm' : request.backend];
  const batches = planBatches(layers.map((l) => l.shape), traits.oneLayerPerBatch, traits.maxBatchElements);
  return { layers, batches, threads: traits.enginePerThread ? threads : 1, layersAheadPerThread };
}

/** Memory the machine can give this process now, beyond what it holds (a container's limit counts). */
export function freeMemoryBytes(): number {
  const available = (process as { availableMemory?: () => number }).availableMemory?.();
  return available && available > 0 ? available : os.freemem();
}

/** The thread count this merge fits in at `freeBytes` (the machine's free memory unless given). */
export function fitMergeToMemory(
  request: Pick<MergeRequest, 'columns' | 'dtype' | 'backend'>,
  groups: readonly MergedGroup[],
  threads: number,
  layersAheadPerThread: number,
  freeBytes = freeMemoryBytes(),
): ThreadsThatFit {
  return threadsThatFit(memoryPlan(request, groups, threads, layersAheadPerThread), freeBytes, process.memoryUsage().rss);
}
