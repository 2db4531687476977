/** Small dense row-major float64 matrix products: enough for r × r algebra and thin r × n factors. */

/** C (m × n) = A (m × k) · B (k × n). */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      const rowB = p * n;
      const rowC = i * n;
      for (let j = 0; j < n; j++) c[rowC + j] += aip * b[rowB + j];
    }
  }
  return c;
}

/** C (m × n) = A (m × k) · Bᵀ where B is n × k: dot products of rows, the cache-friendly Gram form. */
export function matmulTransposedB(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      const rowA = i * k;
      const rowB = j * k;
      for (let p = 0; p < k; p++) sum += a[rowA + p] * b[rowB + p];
      c[i * n + j] = sum;
    }
  }
  return c;
}

/** C (m × n) = Aᵀ · B where A is k × m and B is k × n. */
export function matmulTransposedA(a: ArrayLike<number>, b: ArrayLike<number>, k: number, m: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let p = 0; p < k; p++) {
    for (let i = 0; i < m; i++) {
      const api = a[p * m + i];
      if (api === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += api * b[p * n + j];
    }
  }
  return c;
}

/** tr(X · Y) for square n × n matrices. */
export function traceOfProduct(x: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sum += x[i * n + j] * y[j * n + i];
  return sum;
}

/** The sub-block rows [r0, r1) × cols [c0, c1) of an n-column matrix. */
export function block(x: ArrayLike<number>, n: number, r0: number, r1: number, c0: number, c1: number): Float64Array {
  const out = new Float64Array((r1 - r0) * (c1 - c0));
  for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) out[(i - r0) * (c1 - c0) + (j - c0)] = x[i * n + j];
  return out;
}
