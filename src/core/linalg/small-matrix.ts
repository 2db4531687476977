/** Small dense row-major float64 blocks for r × r algebra (Grams of thin factors are in linalg/gram.ts). */

/** The sub-block rows [r0, r1) × cols [c0, c1) of an n-column matrix. */
export function block(x: ArrayLike<number>, n: number, r0: number, r1: number, c0: number, c1: number): Float64Array {
  const out = new Float64Array((r1 - r0) * (c1 - c0));
  for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) out[(i - r0) * (c1 - c0) + (j - c0)] = x[i * n + j];
  return out;
}
