/**
 * Parsing and validating a safetensors header with the rules of the reference implementation
 * (huggingface/safetensors), plus clearer messages for the mistakes seen in the wild.
 */
import { byteLengthOf, DType, isDType } from './dtypes';
import { SafetensorsError } from './errors';
import { findDuplicateTopLevelKey, isCompactForm } from './json-keys';

/** The reference reader refuses headers larger than this. */
export const MAX_HEADER_BYTES = 100_000_000;
export const LENGTH_PREFIX_BYTES = 8;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte range [begin, end) relative to the start of the data buffer. */
  readonly dataOffsets: readonly [number, number];
  readonly elementCount: number;
}

export interface SafetensorsHeader {
  /** Length of the JSON header in bytes (the number in the first 8 bytes). */
  readonly headerBytes: number;
  /** Absolute file offset where the data buffer starts. */
  readonly dataStart: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in header order. */
  readonly tensors: readonly TensorInfo[];
}

const LFS_POINTER_PREFIX = 'version https://git-lfs';

/**
 * Reads the 8-byte length prefix and checks that the file can hold such a header.
 * `prefix` is the first min(fileSize, 64) bytes of the file.
 */
export function readHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize === 0) throw new SafetensorsError(file, 'the file is empty (0 bytes)', 'it was probably not downloaded or written completely');
  const text = new TextDecoder('latin1').decode(prefix.subarray(0, LFS_POINTER_PREFIX.length));
  if (text === LFS_POINTER_PREFIX) {
    throw new SafetensorsError(file, 'this is a Git LFS pointer file, not the tensor data', 'run `git lfs pull` in its repository to fetch the real file');
  }
  if (fileSize < LENGTH_PREFIX_BYTES) {
    throw new SafetensorsError(file, `the file has only ${fileSize} bytes; a safetensors file starts with an 8-byte header length`, 'the file is truncated or is not a safetensors file');
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, `the header length field says ${length} bytes, more than the 100 MB limit of the format`, 'the file is not a safetensors file, or is corrupt');
  }
  const headerBytes = Number(length);
  if (headerBytes < 2) {
    throw new SafetensorsError(file, `the header length field says ${headerBytes} bytes, too short for a JSON header`, 'the file is corrupt or not a safetensors file');
  }
  if (LENGTH_PREFIX_BYTES + headerBytes > fileSize) {
    throw new SafetensorsError(file, `the header length field says ${headerBytes} bytes, past the end of the ${fileSize}-byte file`, 'the file is truncated or not a safetensors file');
  }
  return headerBytes;
}

/** "a number", "an object", "null"… for messages about JSON values of the wrong type. */
function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function fail(file: string, problem: string, hint = 'the file is corrupt or was written by a faulty tool'): never {
  throw new SafetensorsError(file, problem, hint);
}

function parseJson(file: string, bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail(file, 'the header is not valid UTF-8 text', 'the file is not a safetensors file, or is corrupt');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(file, `the header is not valid JSON (${(error as Error).message})`, 'the file is not a safetensors file, or is corrupt');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail(file, `the header is JSON but not an object (it is ${describeJsonType(parsed)})`);
  }
  // The scan for a repeated key is the costliest step of a large header; a compact header cannot have one.
  const duplicate = isCompactForm(text, parsed) ? undefined : findDuplicateTopLevelKey(text);
  if (duplicate !== undefined) fail(file, `duplicate tensor name "${duplicate}" in the header`);
  return parsed;
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(file, '__metadata__ must be an object of string values');
  const metadata: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (typeof entry !== 'string') {
      fail(file, `__metadata__ value of "${key}" is ${describeJsonType(entry)}, but the format allows only strings`, 'the writer must store metadata values as strings (JSON-encode them)');
    }
    metadata[key] = entry;
  }
  return metadata;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseTensor(file: string, name: string, value: unknown): TensorInfo {
  const where = `tensor "${name}"`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, `${where} must be an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (dtype === undefined) fail(file, `${where} has no dtype`);
  if (typeof dtype !== 'string') fail(file, `${where} has a dtype that is not a string`);
  if (!isDType(dtype)) fail(file, `${where} has unknown dtype "${dtype}"`, 'it is in no version of the safetensors spec that this tool knows');
  if (shape === undefined) fail(file, `${where} has no shape`);
  if (!Array.isArray(shape)) fail(file, `${where} has a shape that is not an array`);
  for (let i = 0; i < shape.length; i++) {
    if (!isNonNegativeInteger(shape[i])) fail(file, `${where} has shape ${JSON.stringify(shape)}: dimensions must be non-negative integers`);
  }
  if (offsets === undefined) fail(file, `${where} has no data_offsets`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isNonNegativeInteger(offsets[0]) || !isNonNegativeInteger(offsets[1])) {
    fail(file, `${where} has data_offsets ${JSON.stringify(offsets)}: expected [begin, end] with non-negative integers`);
  }
  // Indexing, not array destructuring: that runs the iterator protocol, once per tensor of a large header.
  const begin = offsets[0] as number;
  const end = offsets[1] as number;
  if (end < begin) fail(file, `${where} has data_offsets [${begin}, ${end}] out of order: end before begin`);
  let elementCount = 1;
  for (let i = 0; i < shape.length; i++) elementCount *= shape[i] as number;
  if (!Number.isSafeInteger(elementCount)) fail(file, `${where} has shape ${JSON.stringify(shape)} with too many elements`);
  const expected = byteLengthOf(dtype, elementCount);
  if (expected === undefined) fail(file, `${where} has ${elementCount} elements of ${dtype}, which do not fill whole bytes`);
  if (end - begin !== expected) {
    fail(file, `${where} has ${end - begin} bytes of data but shape ${JSON.stringify(shape)} × ${dtype} needs ${expected}`);
  }
  // The parsed arrays are the tensor's own: no copies of a large header's thousands of them.
  return { name, dtype, shape: shape as number[], dataOffsets: offsets as [number, number], elementCount };
}

const byOffsets = (a: TensorInfo, b: TensorInfo) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1];

/** Whether the tensors are already sorted by their offsets, as writers usually store them (then no sorted copy is needed). */
function inOffsetOrder(tensors: readonly TensorInfo[]): boolean {
  for (let i = 1; i < tensors.length; i++) if (byOffsets(tensors[i - 1], tensors[i]) > 0) return false;
  return true;
}

/** Checks that the tensors tile the data buffer exactly: from 0, no overlap, no gap, no trailing bytes. */
function checkCoverage(file: string, tensors: readonly TensorInfo[], dataBytes: number): void {
  const byOffset = inOffsetOrder(tensors) ? tensors : [...tensors].sort(byOffsets);
  let position = 0;
  let previous: TensorInfo | undefined;
  for (let i = 0; i < byOffset.length; i++) {
    const tensor = byOffset[i];
    const begin = tensor.dataOffsets[0];
    const end = tensor.dataOffsets[1];
    if (begin < position) {
      fail(file, `tensor "${tensor.name}" (bytes ${begin}–${end}) overlaps tensor "${previous?.name}" (ends at ${position})`);
    }
    if (begin > position) {
      fail(file, `gap of ${begin - position} bytes in the data before tensor "${tensor.name}" (bytes ${position}–${begin} belong to no tensor)`);
    }
    if (end > dataBytes) {
      fail(file, `tensor "${tensor.name}" ends at byte ${end} of the data, past the end of the file (the data has ${dataBytes} bytes)`, 'the file is truncated: download or copy it again');
    }
    position = end;
    previous = tensor;
  }
  if (position < dataBytes) {
    fail(file, `${dataBytes - position} trailing bytes after the last tensor's data`, 'the file is corrupt, or two files were concatenated');
  }
}

/** Parses and fully validates the header bytes. `fileSize` is the size of the whole file. */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const parsed = parseJson(file, headerBytes) as Record<string, unknown>;
  const metadata = parseMetadata(file, parsed.__metadata__);
  const tensors: TensorInfo[] = [];
  const names = Object.keys(parsed);
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== '__metadata__') tensors.push(parseTensor(file, names[i], parsed[names[i]]));
  }
  const dataStart = LENGTH_PREFIX_BYTES + headerBytes.byteLength;
  checkCoverage(file, tensors, fileSize - dataStart);
  return { headerBytes: headerBytes.byteLength, dataStart, metadata, tensors };
}
