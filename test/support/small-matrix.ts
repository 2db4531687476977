/** Small dense row-major float64 products, for the float64 reference objective (objective.ts). */

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

/** tr(X · Y) for square n × n matrices. */
export function traceOfProduct(x: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sum += x[i * n + j] * y[j * n + i];
  return sum;
}
