/** Streaming statistics against a plain two-pass reference in float64, for every path and chunking. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { DType } from '../../src/core/safetensors/dtypes';
import { decodeToF32, encodeFromF32 } from '../../src/core/safetensors/float';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { writeSafetensors } from '../support/write-safetensors';
import { tensorStats } from '../../src/core/stats/file-stats';
import { TensorStatsAccumulator } from '../../src/core/stats/tensor-stats';
import { statsOfF32 } from '../support/stats-of-f32';
import { tempDir } from '../support/build-safetensors';

function reference(values: ArrayLike<number>, bins: number) {
  const finite = Array.from(values).filter(Number.isFinite);
  const n = finite.length;
  const mean = finite.reduce((a, b) => a + b, 0) / n;
  const variance = finite.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const counts = new Array(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.floor(((v - min) / (max - min)) * bins))]++;
  return {
    min, max, mean, std: Math.sqrt(variance), absMax: Math.max(...finite.map(Math.abs)),
    l2Norm: Math.sqrt(finite.reduce((a, b) => a + b * b, 0)), zeros: finite.filter((v) => v === 0).length,
    nans: Array.from(values).filter(Number.isNaN).length, infs: Array.from(values).filter((v) => v === Infinity || v === -Infinity).length, counts,
  };
}

function randomValues(n: number, seed: number): Float32Array {
  let state = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out[i] = (state / 2147483648 - 0.3) * 4;
  }
  return out;
}

const close = (a: number | null, b: number, rel = 1e-9) => assert.ok(a !== null && Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

for (const dtype of ['F32', 'F16', 'BF16'] as const) {
  test(`${dtype}: streamed statistics match a two-pass float64 reference, in chunks of any size`, () => {
    const raw = randomValues(10_000, 7);
    raw[3] = 0;
    raw[10] = NaN;
    raw[11] = Infinity;
    raw[12] = -Infinity;
    raw[13] = 0;
    const bytes = encodeFromF32(dtype, raw);
    const values = decodeToF32(dtype, bytes); // the values as stored in that dtype
    const expected = reference(values, 64);
    for (const chunk of [bytes.byteLength, 4096, 24]) {
      const accumulator = new TensorStatsAccumulator(dtype);
      for (let at = 0; at < bytes.byteLength; at += chunk) accumulator.add(bytes.slice(at, at + chunk));
      const stats = accumulator.result(64);
      assert.equal(stats.count, 10_000);
      assert.equal(stats.finiteCount, 10_000 - 3);
      close(stats.min, expected.min);
      close(stats.max, expected.max);
      close(stats.mean, expected.mean);
      close(stats.std, expected.std);
      close(stats.absMax, expected.absMax);
      close(stats.l2Norm, expected.l2Norm);
      assert.equal(stats.zeros, expected.zeros);
      assert.equal(stats.nans, 1);
      assert.equal(stats.infs, 2);
      assert.equal(stats.histogram.counts.reduce((a, b) => a + b, 0), 10_000 - 3);
      if (dtype !== 'F32') assert.deepEqual(stats.histogram.counts, expected.counts, 'histogram from codes is exact');
      else {
        // F32 bins by the nearest bfloat16 code: only values within 2⁻⁹ of a bin edge may move to a neighbour.
        const moved = stats.histogram.counts.reduce((a, c, i) => a + Math.abs(c - expected.counts[i]), 0) / 2;
        assert.ok(moved <= 0.01 * 10_000, `${moved} values binned differently`);
      }
    }
  });
}

test('standard deviation does not lose precision when the mean is large', () => {
  const values = new Float32Array(100_000);
  for (let i = 0; i < values.length; i++) values[i] = 10_000 + (i % 2 ? 0.5 : -0.5);
  const stats = statsOfF32(values);
  close(stats.mean, 10_000);
  close(stats.std, 0.5, 1e-6);
});

test('integer and 8-bit float dtypes, and all-NaN tensors', () => {
  const ints = new Int32Array([-5, 0, 7, 2_000_000_000]);
  const intStats = new TensorStatsAccumulator('I32');
  intStats.add(new Uint8Array(ints.buffer));
  const r = intStats.result();
  assert.equal(r.min, -5);
  assert.equal(r.max, 2_000_000_000);
  assert.equal(r.zeros, 1);
  const e4m3 = new TensorStatsAccumulator('F8_E4M3');
  e4m3.add(new Uint8Array([0x38, 0xb8, 0x7e, 0x7f, 0x00]));
  const f8 = e4m3.result();
  assert.deepEqual([f8.min, f8.max, f8.nans, f8.zeros, f8.finiteCount], [-1, 448, 1, 1, 4]);
  const nan = statsOfF32(new Float32Array([NaN, NaN]));
  assert.deepEqual([nan.min, nan.mean, nan.std, nan.nans, nan.finiteCount], [null, null, null, 2, 0]);
  const constant = statsOfF32(new Float32Array([3, 3, 3]));
  assert.equal(constant.std, 0);
  assert.equal(constant.histogram.counts[0], 3);
  assert.throws(() => new TensorStatsAccumulator('F4' as DType), /decodable/);
});

test('tensorStats streams a tensor from a file in chunks', async () => {
  const dir = tempDir();
  const file = path.join(dir, 's.safetensors');
  const values = randomValues(5000, 3);
  await writeSafetensors(file, [{ name: 'x', dtype: 'F16', shape: [50, 100], data: encodeFromF32('F16', values) }]);
  await withSafetensors(file, async (read) => {
    let chunks = 0;
    const stats = await tensorStats(read, read.tensor('x'), () => chunks++);
    const expected = reference(decodeToF32('F16', encodeFromF32('F16', values)), 64);
    close(stats!.mean, expected.mean);
    close(stats!.std, expected.std);
    assert.ok(chunks >= 1);
  });
});
