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
  return {
    file: checkpoint.path,
    bytes: checkpoint.bytes,
    headerBytes: checkpoint.headerBytes,
    metadata: checkpoint.metadata,
    tensors: checkpoint.tensors.map(({ info, file }) => ({
      name: info.name,
      dtype: info.dtype,
      shape: info.shape,
      dataOffsets: info.dataOffsets,
      ...(checkpoint.sharded ? { shard: file.path } : {}),
    })),
  };
}

export interface DTypeBreakdown {
  readonly dtype: DType;
  readonly tensors: number;
  readonly parameters: number;
  readonly bytes: number;
}

export function parameterCount(tensors: readonly TensorSummary[]): number {
  return tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

export function dtypeBreakdown(tensors: readonly TensorSummary[]): DTypeBreakdown[] {
  const byType = new Map<DType, { tensors: number; parameters: number; bytes: number }>();
  for (const t of tensors) {
    const entry = byType.get(t.dtype) ?? { tensors: 0, parameters: 0, bytes: 0 };
    entry.tensors++;
    entry.parameters += t.shape.reduce((a, b) => a * b, 1);
    entry.bytes += t.dataOffsets[1] - t.dataOffsets[0];
    byType.set(t.dtype, entry);
  }
  return [...byType].map(([dtype, e]) => ({ dtype, ...e })).sort((a, b) => b.bytes - a.bytes);
}
