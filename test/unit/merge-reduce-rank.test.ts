import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reduceRank } from '../../src/core/merge/reduce-rank';
import { randomNormal, seededRandom } from '../support/seeded-random';

function product(up: ArrayLike<number>, down: ArrayLike<number>, out: number, r: number, cols: number): Float64Array {
  const w = new Float64Array(out * cols);
  for (let i = 0; i < out; i++) for (let a = 0; a < r; a++) for (let j = 0; j < cols; j++) w[i * cols + j] += up[i * r + a] * down[a * cols + j];
  return w;
}

test('full rank reproduces ΔW; a lower rank keeps the reported share of the energy', () => {
  const random = seededRandom(4);
  const [out, R, cols] = [13, 6, 17];
  const up = randomNormal(out * R, random);
  const down = randomNormal(R * cols, random);
  const dense = product(up, down, out, R, cols);
  const full = reduceRank(up, down, out, R, cols, R);
  const again = product(full.up, full.down, out, R, cols);
  const norm = dense.reduce((a, v) => a + v * v, 0);
  assert.ok(again.reduce((a, v, i) => a + (v - dense[i]) ** 2, 0) / norm < 1e-10);
  assert.ok(Math.abs(full.retainedEnergy - 1) < 1e-12);
  const low = reduceRank(up, down, out, R, cols, 2);
  assert.equal(low.rank, 2);
  assert.equal(low.up.length, out * 2);
  const approx = product(low.up, low.down, out, 2, cols);
  const kept = approx.reduce((a, v) => a + v * v, 0) / norm;
  assert.ok(Math.abs(kept - low.retainedEnergy) < 1e-5, `${kept} vs ${low.retainedEnergy}`);
  assert.ok(low.retainedEnergy < 1 && low.retainedEnergy > 0.2);
});
