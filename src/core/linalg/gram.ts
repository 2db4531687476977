/**
 * Thin Gram kernels: the hot path of every LoRA measure. Factors are stored as rows (r × n, row-major), so a
 * Gram entry is a dot product of two contiguous rows. Blocks of 4×4 rows share each load across 16
 * multiply-adds, which is what makes plain JavaScript reach about 1.6 GMAC/s here; sums are kept in float64.
 */

export type Real = Float32Array | Float64Array;

/** Dot products of up to 4 rows of x with up to 4 rows of y, written into c (row stride q) at (i, j). */
function block(x: Real, i: number, pi: number, y: Real, j: number, qj: number, n: number, c: Float64Array, q: number): void {
  if (pi === 4 && qj === 4) {
    const o0 = i * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
    const p0 = j * n, p1 = p0 + n, p2 = p1 + n, p3 = p2 + n;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
    for (let k = 0; k < n; k++) {
      const x0 = x[o0 + k], x1 = x[o1 + k], x2 = x[o2 + k], x3 = x[o3 + k];
      const y0 = y[p0 + k], y1 = y[p1 + k], y2 = y[p2 + k], y3 = y[p3 + k];
      s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
      s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
      s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
      s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
    }
    const b = i * q + j;
    c[b] = s00; c[b + 1] = s01; c[b + 2] = s02; c[b + 3] = s03;
    c[b + q] = s10; c[b + q + 1] = s11; c[b + q + 2] = s12; c[b + q + 3] = s13;
    c[b + 2 * q] = s20; c[b + 2 * q + 1] = s21; c[b + 2 * q + 2] = s22; c[b + 2 * q + 3] = s23;
    c[b + 3 * q] = s30; c[b + 3 * q + 1] = s31; c[b + 3 * q + 2] = s32; c[b + 3 * q + 3] = s33;
    return;
  }
  // Edge blocks (rank not a multiple of 4): plain dot products.
  for (let a = 0; a < pi; a++) {
    const oa = (i + a) * n;
    for (let b = 0; b < qj; b++) {
      const ob = (j + b) * n;
      let s = 0;
      for (let k = 0; k < n; k++) s += x[oa + k] * y[ob + k];
      c[(i + a) * q + j + b] = s;
    }
  }
}

/** C = X·Yᵀ (p × q) for X of p rows and Y of q rows, each row n long. */
export function crossGramRows(x: Real, p: number, y: Real, q: number, n: number): Float64Array {
  checkSize(x, p, n, 'X');
  checkSize(y, q, n, 'Y');
  const c = new Float64Array(p * q);
  for (let i = 0; i < p; i += 4) {
    for (let j = 0; j < q; j += 4) block(x, i, Math.min(4, p - i), y, j, Math.min(4, q - j), n, c, q);
  }
  return c;
}

/** G = X·Xᵀ (p × p, symmetric) for X of p rows, each n long: only blocks on or below the diagonal are computed. */
export function gramRows(x: Real, p: number, n: number): Float64Array {
  checkSize(x, p, n, 'X');
  const g = new Float64Array(p * p);
  for (let i = 0; i < p; i += 4) {
    for (let j = 0; j <= i; j += 4) block(x, i, Math.min(4, p - i), x, j, Math.min(4, p - j), n, g, p);
  }
  for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) g[i * p + j] = g[j * p + i];
  return g;
}

/**
 * For every column j of the row-major factors X (p × n) and Y (q × n): x_jᵀ·M·y_j with M p × q.
 * Cost p·q·n: it forms M·Y one row at a time (4 rows of Y per pass) and never the n × n product.
 */
export function columnBilinear(m: Float64Array, x: Real, p: number, y: Real, q: number, n: number): Float64Array {
  checkSize(x, p, n, 'X');
  checkSize(y, q, n, 'Y');
  if (m.length !== p * q) throw new RangeError(`M has ${m.length} entries, expected ${p}×${q}`);
  const out = new Float64Array(n);
  const row = new Float64Array(n);
  for (let i = 0; i < p; i++) {
    row.fill(0);
    let k = 0;
    for (; k + 3 < q; k += 4) {
      const m0 = m[i * q + k], m1 = m[i * q + k + 1], m2 = m[i * q + k + 2], m3 = m[i * q + k + 3];
      const o0 = k * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
      for (let j = 0; j < n; j++) row[j] += m0 * y[o0 + j] + m1 * y[o1 + j] + m2 * y[o2 + j] + m3 * y[o3 + j];
    }
    for (; k < q; k++) {
      const mk = m[i * q + k];
      const o = k * n;
      for (let j = 0; j < n; j++) row[j] += mk * y[o + j];
    }
    const oi = i * n;
    for (let j = 0; j < n; j++) out[j] += x[oi + j] * row[j];
  }
  return out;
}

/**
 * For every column j of the row-major factor X (p × n): x_jᵀ·G·x_j with G symmetric p × p. Uses the symmetry
 * (x_jᵀGx_j = Σ_i x_ij·(G_ii·x_ij + 2·Σ_{k>i} G_ik·x_kj)), so it costs p²·n/2, half of columnBilinear.
 */
export function columnQuadratic(g: Float64Array, x: Real, p: number, n: number): Float64Array {
  checkSize(x, p, n, 'X');
  if (g.length !== p * p) throw new RangeError(`G has ${g.length} entries, expected ${p}×${p}`);
  const out = new Float64Array(n);
  const row = new Float64Array(n);
  for (let i = 0; i < p; i++) {
    const oi = i * n;
    const diagonal = g[i * p + i];
    for (let j = 0; j < n; j++) row[j] = 0.5 * diagonal * x[oi + j];
    let k = i + 1;
    for (; k + 3 < p; k += 4) {
      const g0 = g[i * p + k], g1 = g[i * p + k + 1], g2 = g[i * p + k + 2], g3 = g[i * p + k + 3];
      const o0 = k * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
      for (let j = 0; j < n; j++) row[j] += g0 * x[o0 + j] + g1 * x[o1 + j] + g2 * x[o2 + j] + g3 * x[o3 + j];
    }
    for (; k < p; k++) {
      const gk = g[i * p + k];
      const o = k * n;
      for (let j = 0; j < n; j++) row[j] += gk * x[o + j];
    }
    for (let j = 0; j < n; j++) out[j] += 2 * x[oi + j] * row[j];
  }
  return out;
}

/** Σ_ij G1[i,j]·G2[i,j], i.e. tr(G1ᵀ·G2): with G1 = BᵀB and G2 = AAᵀ this is ‖B·A‖_F². */
export function frobeniusInner(g1: Float64Array, g2: Float64Array): number {
  if (g1.length !== g2.length) throw new RangeError(`matrices of ${g1.length} and ${g2.length} entries`);
  let s = 0;
  for (let i = 0; i < g1.length; i++) s += g1[i] * g2[i];
  return s;
}

/** Transposes a row-major rows × cols matrix into a new Float32Array (cols × rows). */
export function transpose(values: Real, rows: number, cols: number): Float32Array {
  checkSize(values, rows, cols, 'matrix');
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = values[o + j];
  }
  return out;
}

function checkSize(values: Real, rows: number, cols: number, what: string): void {
  if (values.length !== rows * cols) throw new RangeError(`${what} has ${values.length} values, expected ${rows}×${cols}`);
}
