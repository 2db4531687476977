/**
 * A streaming safetensors writer. The header is computed from shapes alone, then tensors are produced and
 * written one at a time, so only one tensor's bytes are in memory. Everything goes to a temporary file in the
 * target folder that is renamed into place at the end: a failure or a cancel never leaves a half-written file,
 * and an input file is never opened for writing.
 */
import { promises as fs, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { byteLengthOf, DType } from './dtypes';
import { asFileError, SafetensorsError } from './errors';
import { claimTemporary, releaseTemporary, tracked } from '../temporary-files';

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The tensor's little-endian bytes, or a function that produces them when it is this tensor's turn. */
  readonly data: Uint8Array | (() => Promise<Uint8Array> | Uint8Array);
  /**
   * For a tensor whose size is known only once its data is produced (a merged layer of a rank picked from its
   * data): its shape then. `shape` is then the largest it can be; the header is written last (lateMetadata).
   */
  readonly actualShape?: () => readonly number[];
}

export interface WriteOptions {
  /** Files that must not be overwritten (the inputs of a merge). */
  readonly protect?: readonly string[];
  /** Replace an existing file at the target path. */
  readonly overwrite?: boolean;
  /** Called after each tensor is written (progress). */
  readonly onTensorWritten?: (index: number, count: number) => void;
  /** Checked before and after every tensor and before the late metadata: once aborted, the write stops cleanly. */
  readonly signal?: AbortSignal;
  /**
   * Metadata known only once the data is written (e.g. the inputs' hashes, computed meanwhile): the header is
   * then written last. Its values must encode to the same length as those passed as `metadata`.
   */
  readonly lateMetadata?: () => Promise<Readonly<Record<string, string>>>;
}

/**
 * Builds the header bytes, padded with spaces so the data buffer starts 8-byte aligned, as the reference does, or
 * to `length` bytes (a header reserved for the largest shapes, written with the actual ones).
 */
export function encodeHeader(tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>>, length?: number): { bytes: Uint8Array; dataBytes: number } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const names = new Set<string>();
  for (const tensor of tensors) {
    if (tensor.name === '__metadata__') throw new Error('"__metadata__" cannot be a tensor name');
    if (names.has(tensor.name)) throw new Error(`duplicate tensor name "${tensor.name}"`);
    names.add(tensor.name);
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    const length = byteLengthOf(tensor.dtype, count);
    if (length === undefined) throw new Error(`tensor "${tensor.name}": ${count} elements of ${tensor.dtype} do not fill whole bytes`);
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new Error(`metadata value of "${key}" must be a string`);
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = length !== undefined ? length - 8 : Math.ceil(json.byteLength / 8) * 8;
  if (json.byteLength > padded) throw new Error('internal error: the header does not fit the space reserved for it');
  const bytes = new Uint8Array(8 + padded).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { bytes, dataBytes: offset };
}

async function sameFile(a: string, b: string): Promise<boolean> {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const [sa, sb] = await Promise.all([fs.stat(a), fs.stat(b)]);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** Checks, before any work, that `target` may be written: not an input, not existing unless allowed. */
export async function checkWritableTarget(target: string, options: Pick<WriteOptions, 'protect' | 'overwrite'> = {}): Promise<void> {
  for (const input of options.protect ?? []) {
    if (await sameFile(target, input)) {
      throw new SafetensorsError(target, 'is one of the input files; refusing to overwrite an input', 'choose another output path');
    }
  }
  if (!options.overwrite && (await exists(target))) {
    throw new SafetensorsError(target, 'already exists', 'choose another output path, or allow overwriting (--force)');
  }
  const folder = path.dirname(path.resolve(target));
  try {
    const stat = await fs.stat(folder);
    if (!stat.isDirectory()) throw new SafetensorsError(target, `the output folder ${folder} is not a folder`);
    await fs.access(folder, fs.constants.W_OK);
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(target, `the output folder ${folder} ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be written'}`, 'choose another output path');
  }
}

/**
 * Writes the tensors' data one at a time from `position`; returns the position after the last and each tensor's
 * shape as written (its actual one, where only the data tells it).
 */
async function writeTensors(handle: fs.FileHandle, tensors: readonly TensorToWrite[], position: number, options: WriteOptions): Promise<{ end: number; written: TensorToWrite[] }> {
  const written: TensorToWrite[] = [];
  for (let i = 0; i < tensors.length; i++) {
    options.signal?.throwIfAborted();
    const tensor = tensors[i];
    const data = typeof tensor.data === 'function' ? await tensor.data() : tensor.data;
    const shape = tensor.actualShape?.() ?? tensor.shape;
    written.push({ name: tensor.name, dtype: tensor.dtype, shape, data: new Uint8Array(0) });
    const expected = byteLengthOf(tensor.dtype, shape.reduce((a, b) => a * b, 1));
    if (data.byteLength !== expected) {
      throw new Error(`tensor "${tensor.name}" has ${data.byteLength} bytes but its shape and dtype need ${expected}`);
    }
    await writeAll(handle, data, position);
    position += data.byteLength;
    options.signal?.throwIfAborted();
    options.onTensorWritten?.(i, tensors.length);
  }
  return { end: position, written };
}

/** A file written in full to its temporary path, waiting to be renamed into place or thrown away. */
export interface StagedFile {
  readonly target: string;
  /** Renames the file into place. Synchronous, so two commits in a row cannot be split by an event handler. */
  commit(): void;
  /** Removes the temporary file; the target is left as it was. */
  discard(): Promise<void>;
}

/**
 * Writes a safetensors file to a temporary path beside `target`; nothing at `target` changes until `commit()`.
 * A failure or a cancel removes the temporary file; a file-system failure is a SafetensorsError naming `target`.
 */
export async function stageSafetensors(
  target: string,
  tensors: readonly TensorToWrite[],
  metadata: Readonly<Record<string, string>> = {},
  options: WriteOptions = {},
): Promise<StagedFile> {
  await checkWritableTarget(target, options);
  const { bytes: header, dataBytes } = encodeHeader(tensors, metadata);
  const temporary = claimTemporary(target);
  const discard = async () => {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    releaseTemporary(temporary);
  };
  let handle: fs.FileHandle | undefined;
  try {
    handle = await tracked(fs.open(temporary, 'wx'));
    // Shapes known only from the data: the header reserved for the largest shapes is written last with the actual
    // ones (never longer: every number in it is at most the reserved one), padded with spaces to the same length.
    const lateShapes = tensors.some((t) => t.actualShape);
    if (lateShapes && !options.lateMetadata) throw new Error('internal error: tensors of late shapes need the header written last (lateMetadata)');
    if (!options.lateMetadata) await writeAll(handle, header, 0);
    const { end, written } = await writeTensors(handle, tensors, header.byteLength, options);
    if (!lateShapes && end !== header.byteLength + dataBytes) throw new Error('internal error: data length does not match the header');
    if (options.lateMetadata) {
      options.signal?.throwIfAborted();
      const late = encodeHeader(lateShapes ? written : tensors, await options.lateMetadata(), lateShapes ? header.byteLength : undefined).bytes;
      if (late.byteLength !== header.byteLength) throw new Error('internal error: the late metadata changed the header length');
      await writeAll(handle, late, 0);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await discard();
    throw asSystemError(error, target);
  }
  return {
    target,
    commit() {
      try {
        renameSync(temporary, target);
        releaseTemporary(temporary);
      } catch (error) {
        rmSync(temporary, { force: true });
        releaseTemporary(temporary);
        throw asSystemError(error, target);
      }
    },
    discard,
  };
}

/** System errors become a message about the target; others (a cancel, a bad tensor) pass through as they are. */
function asSystemError(error: unknown, target: string): unknown {
  return typeof (error as NodeJS.ErrnoException).code === 'string' && (error as Error).name !== 'AbortError' ? asFileError(error, target) : error;
}

async function writeAll(handle: fs.FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < data.byteLength) {
    const { bytesWritten } = await handle.write(data, written, data.byteLength - written, position + written);
    written += bytesWritten;
  }
}
