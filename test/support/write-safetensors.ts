/** Writing a whole safetensors file in one call, for fixtures and benchmarks (the product stages, then commits). */
import { stageSafetensors, TensorToWrite, WriteOptions } from '../../src/core/safetensors/writer';

/** Writes a safetensors file atomically: readers see the old file or the whole new one, never part of it. */
export async function writeSafetensors(target: string, tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>> = {}, options: WriteOptions = {}): Promise<void> {
  (await stageSafetensors(target, tensors, metadata, options)).commit();
}
