/** Shared helpers for benchmarks: timing with medians, machine description, generated files. */
import { closeSync, existsSync, mkdirSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BackendName, selectBackend } from '../src/core/merge/backends';
import { DType } from '../src/core/safetensors/dtypes';
import { encodeHeader } from '../src/core/safetensors/writer';
import { readShapeDumpFile } from '../test/support/lora-generators';

export const BENCH_DIR = path.resolve(__dirname, '../.bench');
export const SHAPE_DUMPS = path.resolve(__dirname, '../../shared/fixtures/shapes');

export function benchDir(): string {
  mkdirSync(BENCH_DIR, { recursive: true });
  return BENCH_DIR;
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` `runs` times after `warmup` unmeasured runs; returns milliseconds per run. */
export async function time(fn: () => Promise<unknown> | unknown, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

export function fmtMs(times: number[]): string {
  return `median ${median(times).toFixed(1)} ms (runs: ${times.map((t) => t.toFixed(1)).join(', ')})`;
}

export interface ShapeEntry {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: DType;
}

const TORCH_DTYPES: Record<string, DType> = { 'torch.float16': 'F16', 'torch.bfloat16': 'BF16', 'torch.float32': 'F32' };

/** Reads a shape dump (tensor name → {shape, dtype}) from ../shared/fixtures/shapes, or undefined if absent. */
export function readShapeDump(name: string): ShapeEntry[] | undefined {
  const file = path.join(SHAPE_DUMPS, name);
  if (!existsSync(file)) return undefined;
  return readShapeDumpFile(file).map((t) => ({ name: t.name, shape: [...t.shape], dtype: TORCH_DTYPES[t.dtype] ?? 'F32' }));
}

/** Writes a checkpoint with real names and shapes whose data is a hole: any size, no disk used. */
export function writeSparseCheckpoint(file: string, tensors: readonly ShapeEntry[]): number {
  const { bytes, dataBytes } = encodeHeader(tensors.map((t) => ({ ...t, data: new Uint8Array(0) })), { format: 'pt', generated_by: 'ziplora bench' });
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, bytes, 0, bytes.byteLength, 0);
    ftruncateSync(fd, bytes.byteLength + dataBytes);
  } finally {
    closeSync(fd);
  }
  return bytes.byteLength + dataBytes;
}

/** A backend's size³ float32 matmul rate in GFLOP/s (median of five timed products after one warm-up). */
export async function matmulRate(backend: BackendName, size = 1024): Promise<{ gflops: number; device: string }> {
  const b = await selectBackend(backend);
  const { tf } = b;
  const x = tf.randomNormal([size, size]);
  const y = tf.randomNormal([size, size]);
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const start = performance.now();
    const z = tf.matMul(x, y);
    await z.data();
    z.dispose();
    if (i > 0) times.push(performance.now() - start);
  }
  tf.dispose([x, y]);
  return { gflops: (2 * size ** 3) / (median(times) / 1000) / 1e9, device: b.device };
}
