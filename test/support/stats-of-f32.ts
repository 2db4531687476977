/** Statistics of a whole float32 array in one call: the reference the streaming statistics are tested against. */
import { DEFAULT_HISTOGRAM_BINS, TensorStats, TensorStatsAccumulator } from '../../src/core/stats/tensor-stats';

export function statsOfF32(values: Float32Array, bins = DEFAULT_HISTOGRAM_BINS): TensorStats {
  const accumulator = new TensorStatsAccumulator('F32');
  accumulator.add(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return accumulator.result(bins);
}
