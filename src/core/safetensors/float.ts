/**
 * Conversions between the reduced-precision float formats of safetensors and float32.
 * Decoding goes through lookup tables (65,536 entries for 16-bit formats, 256 for 8-bit ones): one load per
 * element is the fastest way to decode in JavaScript, and the tables double as the value of each code for
 * the code-counting statistics.
 */
import os from 'node:os';
import { DType } from './dtypes';

if (os.endianness() !== 'LE') {
  // safetensors data is little-endian; typed-array views would read it wrongly on a big-endian host.
  throw new Error('ziplora needs a little-endian machine');
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** float8 e4m3fn (the OCP/PyTorch "fn" variant): bias 7, no infinities, only S.1111.111 is NaN, max 448. */
function e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exponent = (b >> 3) & 0xf;
  const mantissa = b & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -9;
  return sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
}

/** float8 e5m2: IEEE-like, bias 15, with infinities and NaNs. */
function e5m2ToFloat(b: number): number {
  return halfToFloat(b << 8);
}

let f16Table: Float32Array | undefined;
let bf16Table: Float32Array | undefined;
let e4m3Table: Float32Array | undefined;
let e5m2Table: Float32Array | undefined;

export function f16Values(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = halfToFloat(i);
  }
  return f16Table;
}

export function bf16Values(): Float32Array {
  if (!bf16Table) {
    // bf16 is the upper half of a float32, so the table is a reinterpretation of shifted codes.
    const bits = new Uint32Array(65536);
    for (let i = 0; i < 65536; i++) bits[i] = i << 16;
    bf16Table = new Float32Array(bits.buffer);
  }
  return bf16Table;
}

export function f8Values(dtype: 'F8_E4M3' | 'F8_E5M2'): Float32Array {
  if (dtype === 'F8_E4M3') {
    if (!e4m3Table) e4m3Table = Float32Array.from({ length: 256 }, (_, i) => e4m3ToFloat(i));
    return e4m3Table;
  }
  if (!e5m2Table) e5m2Table = Float32Array.from({ length: 256 }, (_, i) => e5m2ToFloat(i));
  return e5m2Table;
}

/** A typed-array view when the bytes are suitably aligned, else a copy (headers of odd length shift data). */
function aligned(bytes: Uint8Array, elementSize: number): ArrayBuffer {
  if (bytes.byteOffset % elementSize === 0) return bytes.buffer as ArrayBuffer;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

function view<T>(bytes: Uint8Array, size: number, make: (b: ArrayBuffer, o: number, n: number) => T): T {
  const buffer = aligned(bytes, size);
  const offset = buffer === bytes.buffer ? bytes.byteOffset : 0;
  return make(buffer, offset, bytes.byteLength / size);
}

function mapCodes(codes: ArrayLike<number>, table: Float32Array): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]];
  return out;
}

/** bf16 is the upper half of a float32: a shift, about twice as fast as a table look-up (bit-identical). */
function bf16ToF32(codes: Uint16Array): Float32Array {
  const bits = new Uint32Array(codes.length);
  for (let i = 0; i < codes.length; i++) bits[i] = codes[i] << 16;
  return new Float32Array(bits.buffer);
}

/** Decodes little-endian tensor bytes of any decodable dtype to float32 values. */
export function decodeToF32(dtype: DType, bytes: Uint8Array): Float32Array {
  switch (dtype) {
    case 'F32':
      return Float32Array.from(view(bytes, 4, (b, o, n) => new Float32Array(b, o, n)));
    case 'F16':
      return mapCodes(view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)), f16Values());
    case 'BF16':
      return bf16ToF32(view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case 'F8_E4M3':
    case 'F8_E5M2':
      return mapCodes(bytes, f8Values(dtype));
    case 'F64':
      return Float32Array.from(view(bytes, 8, (b, o, n) => new Float64Array(b, o, n)));
    case 'BOOL':
    case 'U8':
      return Float32Array.from(bytes);
    case 'I8':
      return Float32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    case 'I16':
      return Float32Array.from(view(bytes, 2, (b, o, n) => new Int16Array(b, o, n)));
    case 'U16':
      return Float32Array.from(view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case 'I32':
      return Float32Array.from(view(bytes, 4, (b, o, n) => new Int32Array(b, o, n)));
    case 'U32':
      return Float32Array.from(view(bytes, 4, (b, o, n) => new Uint32Array(b, o, n)));
    case 'I64':
      return Float32Array.from(view(bytes, 8, (b, o, n) => new BigInt64Array(b, o, n)), Number);
    case 'U64':
      return Float32Array.from(view(bytes, 8, (b, o, n) => new BigUint64Array(b, o, n)), Number);
    default:
      throw new RangeError(`values of dtype ${dtype} cannot be decoded`);
  }
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 → IEEE half, round to nearest even, overflow to ±Inf, NaN kept NaN. */
export function floatToHalfBits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal: signed zero
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && (result & 1))) result++;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1))) result++; // may carry into the exponent: correct
  return sign | result;
}

/** float32 → bfloat16, round to nearest even, NaN kept NaN. */
export function floatToBFloat16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return (x >>> 16) | 0x40;
  const rounding = 0x7fff + ((x >>> 16) & 1);
  return ((x + rounding) >>> 16) & 0xffff;
}

/** Encodes float32 values as little-endian bytes of F32, F16 or BF16 (the dtypes this project writes). */
export function encodeFromF32(dtype: 'F32' | 'F16' | 'BF16', values: Float32Array): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint16Array(values.length);
  if (dtype === 'BF16') {
    // The same rounding as floatToBFloat16Bits, inlined over a bit view: this loop is on the merge's write path.
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) {
      const x = bits[i];
      out[i] = (x & 0x7f800000) === 0x7f800000 && x & 0x7fffff ? (x >>> 16) | 0x40 : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    }
  } else {
    for (let i = 0; i < values.length; i++) out[i] = floatToHalfBits(values[i]);
  }
  return new Uint8Array(out.buffer);
}
