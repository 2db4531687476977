/** Decoding of reduced-precision floats against known bit patterns, and exhaustive encode/decode round trips. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16Values, decodeToF32, encodeFromF32, f16Values, f8Values, floatToBFloat16Bits, floatToHalfBits } from '../../src/core/safetensors/float';

function decodeCodes(dtype: 'F16' | 'BF16', codes: number[]): number[] {
  return Array.from(decodeToF32(dtype, new Uint8Array(Uint16Array.from(codes).buffer)));
}

test('F16 known bit patterns', () => {
  const cases: [number, number][] = [
    [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504], [0x0400, 2 ** -14],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x7c00, Infinity], [0xfc00, -Infinity], [0x3800, 0.5],
  ];
  assert.deepEqual(decodeCodes('F16', cases.map((c) => c[0])), cases.map((c) => c[1]));
  assert.ok(Number.isNaN(decodeCodes('F16', [0x7e00])[0]));
  assert.ok(Object.is(decodeCodes('F16', [0x8000])[0], -0));
});

test('BF16 known bit patterns', () => {
  const cases: [number, number][] = [
    [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625], [0x7f7f, 3.3895313892515355e38], [0x0080, 2 ** -126], [0x0001, 2 ** -133], [0x7f80, Infinity], [0xff80, -Infinity],
  ];
  assert.deepEqual(decodeCodes('BF16', cases.map((c) => c[0])), cases.map((c) => c[1]));
  assert.ok(Number.isNaN(decodeCodes('BF16', [0x7fc0])[0]));
});

test('F8_E4M3 (fn) known bit patterns: no infinities, 448 is the largest, only S.1111.111 is NaN', () => {
  const table = f8Values('F8_E4M3');
  const cases: [number, number][] = [[0x00, 0], [0x38, 1], [0xb8, -1], [0x40, 2], [0x7e, 448], [0xfe, -448], [0x08, 2 ** -6], [0x01, 2 ** -9], [0x07, 7 * 2 ** -9], [0x78, 256], [0x3c, 1.5]];
  for (const [code, value] of cases) assert.equal(table[code], value, `code 0x${code.toString(16)}`);
  assert.ok(Number.isNaN(table[0x7f]) && Number.isNaN(table[0xff]));
  assert.equal(Array.from(table).filter((v) => !Number.isFinite(v)).length, 2, 'only two NaN codes and no infinities');
});

test('F8_E5M2 known bit patterns: IEEE-like with infinities', () => {
  const table = f8Values('F8_E5M2');
  const cases: [number, number][] = [[0x00, 0], [0x3c, 1], [0xbc, -1], [0x7b, 57344], [0x04, 2 ** -14], [0x01, 2 ** -16], [0x7c, Infinity], [0xfc, -Infinity], [0x3e, 1.5]];
  for (const [code, value] of cases) assert.equal(table[code], value, `code 0x${code.toString(16)}`);
  assert.ok(Number.isNaN(table[0x7d]) && Number.isNaN(table[0x7e]) && Number.isNaN(table[0x7f]));
});

test('every F16 and BF16 code survives decode then encode (NaNs stay NaN)', () => {
  for (const [values, encode, name] of [[f16Values(), floatToHalfBits, 'F16'], [bf16Values(), floatToBFloat16Bits, 'BF16']] as const) {
    let mismatches = 0;
    for (let code = 0; code < 65536; code++) {
      const value = values[code];
      const back = encode(value);
      if (Number.isNaN(value)) {
        if (!Number.isNaN(values[back])) mismatches++;
      } else if (back !== code) mismatches++;
    }
    assert.equal(mismatches, 0, `${name}: ${mismatches} codes changed`);
  }
});

test('F16 encoding rounds to nearest even, overflows to Inf and underflows through subnormals', () => {
  assert.equal(floatToHalfBits(1 + 2 ** -11), 0x3c00, 'tie rounds to even (down)');
  assert.equal(floatToHalfBits(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds to even (up)');
  assert.equal(floatToHalfBits(65519), 0x7bff);
  assert.equal(floatToHalfBits(65520), 0x7c00, 'rounds up to infinity');
  assert.equal(floatToHalfBits(1e10), 0x7c00);
  assert.equal(floatToHalfBits(-1e10), 0xfc00);
  assert.equal(floatToHalfBits(2 ** -25), 0x0000, 'half the smallest subnormal ties to even zero');
  assert.equal(floatToHalfBits(1.5 * 2 ** -25), 0x0001);
  assert.equal(floatToHalfBits(2 ** -14 - 2 ** -25), 0x0400, 'largest subnormal rounds up into the normals');
  assert.equal(floatToHalfBits(-0), 0x8000);
});

test('BF16 encoding rounds to nearest even', () => {
  assert.equal(floatToBFloat16Bits(Math.PI), 0x4049);
  assert.equal(floatToBFloat16Bits(1 + 2 ** -8), 0x3f80, 'tie to even (down)');
  assert.equal(floatToBFloat16Bits(1 + 3 * 2 ** -8), 0x3f82, 'tie to even (up)');
  assert.equal(floatToBFloat16Bits(3.4e38), 0x7f80, 'overflow to infinity');
});

test('encodeFromF32 produces little-endian bytes that decode back', () => {
  const values = new Float32Array([0.1, -7.25, 1000, 3e-3]);
  for (const dtype of ['F16', 'BF16', 'F32'] as const) {
    const decoded = decodeToF32(dtype, encodeFromF32(dtype, values));
    const tolerance = dtype === 'F32' ? 0 : dtype === 'F16' ? 2 ** -11 : 2 ** -8;
    decoded.forEach((v, i) => assert.ok(Math.abs(v - values[i]) <= Math.abs(values[i]) * tolerance, `${dtype} ${values[i]} → ${v}`));
  }
});

test('decoding works on bytes at odd offsets (data after an unaligned header)', () => {
  const bytes = new Uint8Array(9);
  bytes.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
  assert.deepEqual(Array.from(decodeToF32('F32', bytes.subarray(1))), [1.5, -2]);
  const halves = new Uint8Array(5);
  halves.set(new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer), 1);
  assert.deepEqual(Array.from(decodeToF32('F16', halves.subarray(1))), [1, -2]);
});
