/** A serialisable summary of a checkpoint's header: what `inspect --json` prints and the editor shows. */
import { Checkpoint } from './checkpoint';
import { DType } from './dtypes';

export interface TensorSummary {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [number, number];
  /** The shard file holding the tensor, for sharded checkpoints. */
  readonly shard?: string;
}

export interface CheckpointSummary {
  readonly file: string;
  readonly bytes: number;
  readonly headerBytes: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: TensorSummary[];
}

export function summarizeCheckpoint(checkpoint: Checkpoint): CheckpointSummary {
  const entries = checkpoint.tensors;
  const tensors: TensorSummary[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const { info, file } = entries[i];
    tensors[i] = checkpoint.sharded
      ? { name: info.name, dtype: info.dtype, shape: info.shape, dataOffsets: info.dataOffsets, shard: file.path }
      : { name: info.name, dtype: info.dtype, shape: info.shape, dataOffsets: info.dataOffsets };
  }
  return { file: checkpoint.path, bytes: checkpoint.bytes, headerBytes: checkpoint.headerBytes, metadata: checkpoint.metadata, tensors };
}

function elementsOf(shape: readonly number[]): number {
  let count = 1;
  for (let i = 0; i < shape.length; i++) count *= shape[i];
  return count;
}

export interface DTypeBreakdown {
  readonly dtype: DType;
  readonly tensors: number;
  readonly parameters: number;
  readonly bytes: number;
}

export function parameterCount(tensors: readonly TensorSummary[]): number {
  let sum = 0;
  for (let i = 0; i < tensors.length; i++) sum += elementsOf(tensors[i].shape);
  return sum;
}

export function dtypeBreakdown(tensors: readonly TensorSummary[]): DTypeBreakdown[] {
  const byType = new Map<DType, { tensors: number; parameters: number; bytes: number }>();
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    let entry = byType.get(t.dtype);
    if (!entry) byType.set(t.dtype, (entry = { tensors: 0, parameters: 0, bytes: 0 }));
    entry.tensors++;
    entry.parameters += elementsOf(t.shape);
    entry.bytes += t.dataOffsets[1] - t.dataOffsets[0];
  }
  return [...byType].map(([dtype, e]) => ({ dtype, ...e })).sort((a, b) => b.bytes - a.bytes);
}
