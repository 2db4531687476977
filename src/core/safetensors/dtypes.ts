/**
 * The dtypes of the safetensors spec, including the newer sub-byte and exotic ones. A dtype that is listed
 * here but not decodable is shown by the inspector and refused by anything that computes on values.
 * A dtype string that is in no version of the spec is a validation error, because its size is unknown and
 * the tensor's byte range therefore cannot be checked.
 */
export type DType =
  | 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'I32' | 'U32' | 'I64' | 'U64'
  | 'F16' | 'BF16' | 'F32' | 'F64'
  | 'F8_E4M3' | 'F8_E5M2' | 'F8_E8M0' | 'F6_E2M3' | 'F6_E3M2' | 'F4' | 'C64';

interface DTypeInfo {
  /** Size of one element in bits (sub-byte types pack several elements per byte). */
  readonly bits: number;
  /** Whether this project can turn the values into numbers. */
  readonly decodable: boolean;
  readonly kind: 'bool' | 'int' | 'uint' | 'float' | 'complex';
}

const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  BOOL: { bits: 8, decodable: true, kind: 'bool' },
  U8: { bits: 8, decodable: true, kind: 'uint' },
  I8: { bits: 8, decodable: true, kind: 'int' },
  I16: { bits: 16, decodable: true, kind: 'int' },
  U16: { bits: 16, decodable: true, kind: 'uint' },
  I32: { bits: 32, decodable: true, kind: 'int' },
  U32: { bits: 32, decodable: true, kind: 'uint' },
  I64: { bits: 64, decodable: true, kind: 'int' },
  U64: { bits: 64, decodable: true, kind: 'uint' },
  F16: { bits: 16, decodable: true, kind: 'float' },
  BF16: { bits: 16, decodable: true, kind: 'float' },
  F32: { bits: 32, decodable: true, kind: 'float' },
  F64: { bits: 64, decodable: true, kind: 'float' },
  F8_E4M3: { bits: 8, decodable: true, kind: 'float' },
  F8_E5M2: { bits: 8, decodable: true, kind: 'float' },
  F8_E8M0: { bits: 8, decodable: false, kind: 'float' },
  F6_E2M3: { bits: 6, decodable: false, kind: 'float' },
  F6_E3M2: { bits: 6, decodable: false, kind: 'float' },
  F4: { bits: 4, decodable: false, kind: 'float' },
  C64: { bits: 64, decodable: false, kind: 'complex' },
};

export const ALL_DTYPES = Object.keys(DTYPES) as DType[];

export function isDType(value: string): value is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, value);
}

export function isDecodable(dtype: DType): boolean {
  return DTYPES[dtype].decodable;
}

export function isFloatDType(dtype: DType): boolean {
  return DTYPES[dtype].kind === 'float';
}

/**
 * Bytes taken by `count` elements, or undefined when sub-byte elements do not fill whole bytes
 * (the reference implementation refuses such tensors as misaligned).
 */
export function byteLengthOf(dtype: DType, count: number): number | undefined {
  const bits = count * DTYPES[dtype].bits;
  return bits % 8 === 0 ? bits / 8 : undefined;
}
