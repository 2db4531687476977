/**
 * A lazy safetensors reader: opening reads only the length prefix and the header; tensor bytes are read by
 * range from the file handle when asked for. Memory use does not grow with the file size.
 */
import { promises as fs } from 'node:fs';
import { isDecodable } from './dtypes';
import { asFileError, SafetensorsError } from './errors';
import { decodeToF32 } from './float';
import { LENGTH_PREFIX_BYTES, parseHeader, readHeaderLength, SafetensorsHeader, TensorInfo } from './header';

const PREFIX_PROBE_BYTES = 64;

export class SafetensorsFile {
  private readonly byName: Map<string, TensorInfo>;

  private constructor(
    readonly path: string,
    readonly fileBytes: number,
    readonly header: SafetensorsHeader,
    private readonly handle: fs.FileHandle,
  ) {
    this.byName = new Map();
    const { tensors } = header;
    for (let i = 0; i < tensors.length; i++) this.byName.set(tensors[i].name, tensors[i]);
  }

  /** Opens and validates a file. Every failure is a SafetensorsError naming the file. */
  static async open(path: string): Promise<SafetensorsFile> {
    let handle: fs.FileHandle | undefined;
    try {
      const stat = await fs.stat(path);
      if (stat.isDirectory()) throw new SafetensorsError(path, 'is a directory, not a .safetensors file', 'for a sharded checkpoint, open its *.safetensors.index.json');
      if (!stat.isFile()) throw new SafetensorsError(path, 'is not a regular file');
      handle = await fs.open(path, 'r');
      const prefix = await readExactly(handle, 0, Math.min(stat.size, PREFIX_PROBE_BYTES), path);
      const headerLength = readHeaderLength(path, prefix, stat.size);
      const headerBytes = await readExactly(handle, LENGTH_PREFIX_BYTES, headerLength, path);
      const header = parseHeader(path, headerBytes, stat.size);
      return new SafetensorsFile(path, stat.size, header, handle);
    } catch (error) {
      await handle?.close();
      throw asFileError(error, path);
    }
  }

  get tensors(): readonly TensorInfo[] {
    return this.header.tensors;
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  tensor(name: string): TensorInfo {
    const tensor = this.byName.get(name);
    if (!tensor) throw new SafetensorsError(this.path, `has no tensor named "${name}"`);
    return tensor;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The raw little-endian bytes of a tensor, in a fresh buffer that starts 8-byte aligned. */
  async readBytes(tensor: TensorInfo | string): Promise<Uint8Array> {
    const info = typeof tensor === 'string' ? this.tensor(tensor) : tensor;
    const [begin, end] = info.dataOffsets;
    return readExactly(this.handle, this.header.dataStart + begin, end - begin, this.path);
  }

  /** A tensor's values as float32 (any decodable dtype). */
  async readF32(tensor: TensorInfo | string): Promise<Float32Array> {
    const info = typeof tensor === 'string' ? this.tensor(tensor) : tensor;
    if (!isDecodable(info.dtype)) {
      throw new SafetensorsError(this.path, `tensor "${info.name}" has dtype ${info.dtype}, which this tool cannot decode`);
    }
    return decodeToF32(info.dtype, await this.readBytes(info));
  }

  /**
   * Streams a tensor's bytes in chunks of at most `chunkBytes` (rounded down to whole 8-byte words). One buffer
   * is reused: each yielded chunk is only valid until the next one is requested. Passing `scratch` reuses the
   * caller's buffer across tensors too, which saves the page faults of a fresh multi-MB buffer per tensor.
   */
  async *readChunks(tensor: TensorInfo, chunkBytes = 16 << 20, scratch?: Uint8Array): AsyncGenerator<Uint8Array> {
    const step = Math.max(8, chunkBytes - (chunkBytes % 8));
    const [begin, end] = tensor.dataOffsets;
    const needed = Math.min(step, Math.max(end - begin, 1));
    const buffer = scratch && scratch.byteLength >= needed && scratch.byteOffset % 8 === 0 ? scratch : new Uint8Array(needed);
    for (let at = begin; at < end; at += step) {
      const length = Math.min(step, end - at);
      const chunk = buffer.subarray(0, length);
      await fillFrom(this.handle, chunk, this.header.dataStart + at, this.path);
      yield chunk;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function fillFrom(handle: fs.FileHandle, target: Uint8Array, position: number, file: string): Promise<void> {
  let filled = 0;
  while (filled < target.byteLength) {
    // A failed read (EIO, a file on a dropped network share) names this file, wherever the reading was for.
    const { bytesRead } = await handle.read(target, filled, target.byteLength - filled, position + filled).catch((error: unknown) => {
      throw asFileError(error, file);
    });
    if (bytesRead === 0) throw new SafetensorsError(file, `the file ended early while reading bytes ${position}–${position + target.byteLength}`, 'it may have been truncated while open');
    filled += bytesRead;
  }
}

async function readExactly(handle: fs.FileHandle, position: number, length: number, file: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  await fillFrom(handle, buffer, position, file);
  return buffer;
}

/** What reading a layer's factors needs of a file: an open file, or tensor bytes already read (merge threads). */
export type TensorSource = Pick<SafetensorsFile, 'path' | 'readF32'>;

/** Opens a file, runs `use`, and closes it whatever happens. */
export async function withSafetensors<T>(path: string, use: (file: SafetensorsFile) => Promise<T>): Promise<T> {
  const file = await SafetensorsFile.open(path);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}
