import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reduceRank } from '../../src/core/linalg/reduce-rank';
import { denseSvd, relativeFrobenius } from '../support/dense-svd';
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

test('against a dense SVD of ΔW: retained energy Σ_{i≤k} σ_i² / Σ σ_i², and up_k·down_k is the best rank-k approximation', () => {
  for (const [seed, out, R, cols] of [[11, 40, 8, 24], [12, 9, 6, 31], [13, 64, 12, 64]]) {
    const random = seededRandom(seed);
    const up = randomNormal(out * R, random);
    const down = randomNormal(R * cols, random);
    const reference = denseSvd(product(up, down, out, R, cols), out, cols);
    for (let k = 1; k < R; k++) {
      const reduced = reduceRank(up, down, out, R, cols, k);
      assert.ok(Math.abs(reduced.retainedEnergy - reference.retainedEnergy(k)) < 1e-9, `${out}×${cols} k=${k}: energy ${reduced.retainedEnergy} vs ${reference.retainedEnergy(k)}`);
      const error = relativeFrobenius(product(reduced.up, reduced.down, out, k, cols), reference.bestRank(k));
      assert.ok(error < 1e-5, `${out}×${cols} k=${k}: ΔW_k differs from U_k Σ_k V_kᵀ by ${error}`);
    }
  }
});
