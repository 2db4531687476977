/**
 * The shortcuts taken for speed give what the longer paths give, to the bit: the bulk BF16 decode and encode
 * against the per-value reference, the direct merge's measures against the solver's path to them (Adam with no
 * step from m = 1), and the CLI's count formatting against toLocaleString.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCount } from '../../src/core/format/format';
import { selectBackend } from '../../src/core/merge/backends';
import { measureDirect } from '../../src/core/merge/direct-measures';
import { LayerInput, planBatches, solveBatch } from '../../src/core/merge/ziplora-solver';
import { bf16Values, decodeToF32, encodeFromF32, floatToBFloat16Bits } from '../../src/core/safetensors/float';
import { randomDelta } from '../support/random-lora';

test('BF16 decode of every code is the reference table, bit for bit', () => {
  const codes = new Uint16Array(65536).map((_, i) => i);
  const decoded = new Uint32Array(decodeToF32('BF16', new Uint8Array(codes.buffer)).buffer);
  const table = new Uint32Array(bf16Values().buffer);
  const differing = decoded.findIndex((bits, i) => bits !== table[i]);
  assert.equal(differing, -1, `code 0x${differing.toString(16)} decodes differently`);
});

test('BF16 bulk encode is the per-value reference on every code and every rounding case (ties, NaN, Inf, subnormals)', () => {
  // Each bf16 code with low halves that round down, tie (both parities), round up and carry: every exponent,
  // subnormals, ±Inf (0x7f80), and NaNs whose payload is only in the low half (0x7f80_0001: must stay NaN).
  const lows = [0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff];
  const bits = new Uint32Array(65536 * lows.length);
  for (let code = 0; code < 65536; code++) lows.forEach((low, k) => (bits[code * lows.length + k] = ((code << 16) | low) >>> 0));
  const values = new Float32Array(bits.buffer);
  const encoded = new Uint16Array(encodeFromF32('BF16', values).buffer);
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (encoded[i] !== floatToBFloat16Bits(values[i])) {
      mismatches++;
      if (first < 0) first = i;
    }
  }
  assert.equal(mismatches, 0, `${mismatches} values encode differently, first 0x${bits[first]?.toString(16)}`);
  // The cases named above, by their expected codes.
  const one = (x: number) => new Uint16Array(encodeFromF32('BF16', new Float32Array(new Uint32Array([x]).buffer)).buffer)[0];
  assert.equal(one(0x3f808000), 0x3f80, 'a tie rounds to the even code (down)');
  assert.equal(one(0x3f818000), 0x3f82, 'a tie rounds to the even code (up)');
  assert.equal(one(0x7f7fffff), 0x7f80, 'the largest float32 rounds up to +Inf');
  assert.equal(one(0x7f800001) & 0x7f80, 0x7f80);
  assert.notEqual(one(0x7f800001) & 0x7f, 0, 'a NaN with its payload in the low half stays NaN');
  assert.equal(one(0x00008000), 0x0000, 'the smallest subnormal tie rounds to +0');
  assert.equal(one(0x80018000), 0x8002, 'a negative subnormal tie rounds to the even code');
});

test('the direct merge measured without the solver gives every measure of the solver path (Adam, no step)', async () => {
  const layers: LayerInput[] = [
    { inputs: [randomDelta(24, 16, 4, 1, 1.5), randomDelta(24, 16, 4, 2, 0.5)] },
    { inputs: [randomDelta(24, 9, 4, 3), randomDelta(24, 9, 4, 4)] },
    { inputs: [randomDelta(20, 12, 3, 5), randomDelta(20, 12, 2, 6, 1.4), randomDelta(20, 12, 4, 7)] },
  ];
  for (const name of ['wasm', 'cpu'] as const) {
    const backend = await selectBackend(name);
    for (const batch of planBatches(layers.map((l) => ({ inFeatures: l.inputs[0].inFeatures, outFeatures: l.inputs[0].outFeatures, ranks: l.inputs.map((d) => d.rank) })), backend.oneLayerPerBatch)) {
      const problems = batch.map((i) => layers[i]);
      const direct = await measureDirect(backend, problems);
      const solved = await solveBatch(backend, problems, { solver: 'adam', steps: 0, lambda: 0, learningRate: 0.01, start: 1 }, async () => undefined);
      direct.forEach((d, i) => {
        // The solver's own statistics at m = 1 (its projected gradient and certificate) are what a direct merge leaves out.
        const { projectedGradientNorm, gap, stop, ...same } = solved[i];
        assert.equal(typeof projectedGradientNorm, 'number');
        assert.equal(typeof gap, 'number');
        assert.equal(typeof stop, 'string');
        for (const key of ['projectedGradientNorm', 'gap', 'stop']) assert.equal(key in d, false, `a direct merge reports no ${key}`);
        assert.deepEqual(d, same, `${name}, layer ${batch[i]}`);
      });
    }
  }
});

test('counts are grouped as toLocaleString("en-US") groups them', () => {
  const counts = [0, -0, 7, 999, 1000, -1000, 12345, 1234567, -987654321, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, 1e21, NaN, Infinity];
  for (let digits = 1; digits <= 16; digits++) counts.push(Number('9'.repeat(digits)), Number(`1${'0'.repeat(digits - 1)}`));
  for (const count of counts) assert.equal(formatCount(count), count.toLocaleString('en-US'), String(count));
});
