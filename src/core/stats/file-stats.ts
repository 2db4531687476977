/** Statistics of tensors read from files, streamed in chunks so memory stays flat on multi-GB files. */
import { isDecodable } from '../safetensors/dtypes';
import { TensorInfo } from '../safetensors/header';
import { SafetensorsFile } from '../safetensors/reader';
import { DEFAULT_HISTOGRAM_BINS, TensorStats, TensorStatsAccumulator } from './tensor-stats';

export const STATS_CHUNK_BYTES = 8 << 20;

export interface StatsProgress {
  /** Bytes of tensor data processed so far in this call. */
  readonly doneBytes: number;
  readonly totalBytes: number;
}

/** Statistics of one tensor, or null when its dtype cannot be decoded. */
export async function tensorStats(
  file: SafetensorsFile,
  tensor: TensorInfo,
  onChunk?: (bytes: number) => void,
  bins = DEFAULT_HISTOGRAM_BINS,
  scratch?: Uint8Array,
): Promise<TensorStats | null> {
  if (!isDecodable(tensor.dtype)) return null;
  const accumulator = new TensorStatsAccumulator(tensor.dtype);
  for await (const chunk of file.readChunks(tensor, STATS_CHUNK_BYTES, scratch)) {
    accumulator.add(chunk);
    onChunk?.(chunk.byteLength);
  }
  return accumulator.result(bins);
}

/** Statistics of many tensors in turn, reporting progress by bytes. */
export async function manyTensorStats(
  entries: readonly { info: TensorInfo; file: SafetensorsFile }[],
  onProgress?: (progress: StatsProgress) => void,
): Promise<(TensorStats | null)[]> {
  const totalBytes = entries.reduce((sum, e) => sum + (e.info.dataOffsets[1] - e.info.dataOffsets[0]), 0);
  let doneBytes = 0;
  const results: (TensorStats | null)[] = [];
  const scratch = new Uint8Array(STATS_CHUNK_BYTES);
  for (const { info, file } of entries) {
    const onChunk = (bytes: number) => {
      doneBytes += bytes;
      onProgress?.({ doneBytes, totalBytes });
    };
    results.push(await tensorStats(file, info, onChunk, DEFAULT_HISTOGRAM_BINS, scratch));
  }
  return results;
}
