/**
 * Streaming value statistics of a tensor, fed chunk by chunk.
 *
 * 16- and 8-bit floats take the fast path: each chunk only counts how often every bit pattern occurs (one
 * increment per element); min, max, mean, std, norms and the histogram then follow exactly from the 65,536
 * (or 256) counts. Other dtypes accumulate moments per chunk (merged with Chan's formula, so the standard
 * deviation does not suffer from cancellation) and bin values by their nearest bfloat16 code for the histogram,
 * which places each value to within 2⁻⁹ of its size (a value that close to a bin edge may land in the next bin).
 * NaN and ±Inf are counted apart and excluded from min, max, mean, std, abs-max and the L2 norm.
 */
import { DType, isDecodable } from '../safetensors/dtypes';
import { bf16Values, f16Values, f8Values } from '../safetensors/float';

export interface Histogram {
  /** Lower edge of the first bin and upper edge of the last (the finite min and max). */
  readonly min: number;
  readonly max: number;
  readonly counts: number[];
}

export interface TensorStats {
  readonly count: number;
  /** Elements that are neither NaN nor ±Inf: the population of min … l2Norm. */
  readonly finiteCount: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Population standard deviation. */
  readonly std: number | null;
  readonly absMax: number | null;
  readonly l2Norm: number;
  readonly zeros: number;
  readonly nans: number;
  readonly infs: number;
  readonly histogram: Histogram;
}

export const DEFAULT_HISTOGRAM_BINS = 64;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function codeValueTable(dtype: DType): Float32Array | undefined {
  switch (dtype) {
    case 'F16':
      return f16Values();
    case 'BF16':
      return bf16Values();
    case 'F8_E4M3':
    case 'F8_E5M2':
      return f8Values(dtype);
    default:
      return undefined;
  }
}

export class TensorStatsAccumulator {
  private readonly codeValues: Float32Array | undefined;
  /** Occurrences of each bit pattern (fast path) or of each bfloat16 code of the values (generic path). */
  private readonly codeCounts: Float64Array;
  private count = 0;
  // Generic path moments (over finite values).
  private finite = 0;
  private mean = 0;
  private m2 = 0;
  private sumSquares = 0;
  private min = Infinity;
  private max = -Infinity;
  private zeros = 0;
  private nans = 0;
  private infs = 0;

  constructor(readonly dtype: DType) {
    if (!isDecodable(dtype)) throw new RangeError(`statistics need decodable values; ${dtype} is not`);
    this.codeValues = codeValueTable(dtype);
    this.codeCounts = new Float64Array(this.codeValues?.length ?? 65536);
  }

  /** Adds a chunk of little-endian tensor bytes; its length must be a whole number of elements. */
  add(bytes: Uint8Array): void {
    if (this.codeValues) this.addCodes(bytes);
    else this.addValues(bytes);
  }

  private addCodes(bytes: Uint8Array): void {
    const counts = this.codeCounts;
    const codes = this.codeValues!.length === 256 ? bytes : typedView(bytes, 2, Uint16Array);
    for (let i = 0; i < codes.length; i++) counts[codes[i]]++;
    this.count += codes.length;
  }

  private addValues(bytes: Uint8Array): void {
    const values = valuesOf(this.dtype, bytes);
    const counts = this.codeCounts;
    const bits = this.dtype === 'F32' ? typedView(bytes, 4, Uint32Array) : undefined;
    let finite = 0;
    let sum = 0;
    let min = this.min;
    let max = this.max;
    let zeros = 0;
    let nans = 0;
    let infs = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== v) {
        nans++;
        continue;
      }
      if (v === Infinity || v === -Infinity) {
        infs++;
        continue;
      }
      finite++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
      let b: number;
      if (bits) b = bits[i];
      else {
        scratchF32[0] = v;
        b = scratchU32[0];
      }
      // The bfloat16 code nearest to the value (truncated instead where rounding would reach infinity).
      let code = (b + 0x8000) >>> 16;
      if ((code & 0x7f80) === 0x7f80) code = b >>> 16;
      counts[code & 0xffff]++;
    }
    // Second pass over the (cache-warm) chunk: squared deviations about the chunk mean.
    const chunkMean = finite ? sum / finite : 0;
    let m2 = 0;
    let squares = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v - v !== 0) continue; // NaN or ±Inf
      const d = v - chunkMean;
      m2 += d * d;
      squares += v * v;
    }
    this.merge(finite, chunkMean, m2);
    this.count += values.length;
    this.sumSquares += squares;
    this.min = min;
    this.max = max;
    this.zeros += zeros;
    this.nans += nans;
    this.infs += infs;
  }

  /** Chan et al.'s pairwise update of count, mean and sum of squared deviations. */
  private merge(n: number, mean: number, m2: number): void {
    if (n === 0) return;
    const total = this.finite + n;
    const delta = mean - this.mean;
    this.mean += (delta * n) / total;
    this.m2 += m2 + (delta * delta * this.finite * n) / total;
    this.finite = total;
  }

  result(bins = DEFAULT_HISTOGRAM_BINS): TensorStats {
    return this.codeValues ? this.fromCodes(bins) : this.fromMoments(bins);
  }

  private fromCodes(bins: number): TensorStats {
    const values = this.codeValues!;
    const counts = this.codeCounts;
    let finite = 0;
    let sum = 0;
    let squares = 0;
    let min = Infinity;
    let max = -Infinity;
    let zeros = 0;
    let nans = 0;
    let infs = 0;
    for (let code = 0; code < counts.length; code++) {
      const c = counts[code];
      if (c === 0) continue;
      const v = values[code];
      if (v !== v) nans += c;
      else if (v === Infinity || v === -Infinity) infs += c;
      else {
        finite += c;
        sum += c * v;
        squares += c * v * v;
        if (v < min) min = v;
        if (v > max) max = v;
        if (v === 0) zeros += c;
      }
    }
    const mean = finite ? sum / finite : 0;
    let m2 = 0;
    for (let code = 0; code < counts.length; code++) {
      const c = counts[code];
      const v = values[code];
      if (c !== 0 && v - v === 0) m2 += c * (v - mean) * (v - mean);
    }
    return this.finish({ finite, mean, m2, squares, min, max, zeros, nans, infs }, bins);
  }

  private fromMoments(bins: number): TensorStats {
    const { finite, mean, m2, sumSquares: squares, min, max, zeros, nans, infs } = this;
    return this.finish({ finite, mean, m2, squares, min, max, zeros, nans, infs }, bins);
  }

  private finish(
    s: { finite: number; mean: number; m2: number; squares: number; min: number; max: number; zeros: number; nans: number; infs: number },
    bins: number,
  ): TensorStats {
    const any = s.finite > 0;
    return {
      count: this.count,
      finiteCount: s.finite,
      min: any ? s.min : null,
      max: any ? s.max : null,
      mean: any ? s.mean : null,
      std: any ? Math.sqrt(s.m2 / s.finite) : null,
      absMax: any ? Math.max(Math.abs(s.min), Math.abs(s.max)) : null,
      l2Norm: Math.sqrt(s.squares),
      zeros: s.zeros,
      nans: s.nans,
      infs: s.infs,
      histogram: this.histogram(any ? s.min : 0, any ? s.max : 0, bins),
    };
  }

  private histogram(min: number, max: number, bins: number): Histogram {
    const out = new Array<number>(bins).fill(0);
    const counts = this.codeCounts;
    const values = this.codeValues ?? bf16Values();
    const width = max - min;
    for (let code = 0; code < counts.length; code++) {
      const c = counts[code];
      if (c === 0) continue;
      const v = values[code];
      if (v - v !== 0) continue;
      // Generic-path codes are truncated values: clamp them into the exact [min, max] range.
      const bin = width > 0 ? Math.floor(((v - min) / width) * bins) : 0;
      out[Math.min(bins - 1, Math.max(0, bin))] += c;
    }
    return { min, max, counts: out };
  }
}

type TypedArrayConstructor<T> = new (buffer: ArrayBuffer, byteOffset: number, length: number) => T;

function typedView<T>(bytes: Uint8Array, size: number, make: TypedArrayConstructor<T>): T {
  if (bytes.byteOffset % size === 0) return new make(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  return new make(bytes.slice().buffer, 0, bytes.byteLength / size);
}

function valuesOf(dtype: DType, bytes: Uint8Array): ArrayLike<number> {
  switch (dtype) {
    case 'F32':
      return typedView(bytes, 4, Float32Array);
    case 'F64':
      return typedView(bytes, 8, Float64Array);
    case 'BOOL':
    case 'U8':
      return bytes;
    case 'I8':
      return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    case 'I16':
      return typedView(bytes, 2, Int16Array);
    case 'U16':
      return typedView(bytes, 2, Uint16Array);
    case 'I32':
      return typedView(bytes, 4, Int32Array);
    case 'U32':
      return typedView(bytes, 4, Uint32Array);
    case 'I64':
      return Float64Array.from(typedView(bytes, 8, BigInt64Array), Number);
    case 'U64':
      return Float64Array.from(typedView(bytes, 8, BigUint64Array), Number);
    default:
      throw new RangeError(`no generic statistics for ${dtype}`);
  }
}
