/** Plain-text formatting helpers for the command-line tool. */

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/**
 * A count with thousands separators, as toLocaleString('en-US') writes it. Integers are grouped here: the locale
 * path creates a number formatter per call, and the first one loads ICU's data (tens of milliseconds of
 * `ziplora inspect`'s start-up, and ≈ 20 µs per tensor of a large header's table).
 */
export function formatCount(count: number): string {
  if (!Number.isSafeInteger(count) || Object.is(count, -0)) return count.toLocaleString('en-US');
  const digits = String(Math.abs(count));
  let grouped = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = grouped.length; i < digits.length; i += 3) grouped += `,${digits.slice(i, i + 3)}`;
  return count < 0 ? `-${grouped}` : grouped;
}

/** A short, fixed-width-friendly rendering of a statistic. */
export function formatNumber(value: number | null): string {
  if (value === null) return '—';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(3);
  return value.toPrecision(5).replace(/\.?0+$/, '');
}

/** Left-aligned text columns, right-aligned where `alignRight[i]` is set; one string per row. */
export function renderTable(headings: string[], rows: string[][], alignRight: boolean[] = []): string {
  const widths = headings.map((h, i) => rows.reduce((w, row) => Math.max(w, row[i].length), h.length));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (alignRight[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(headings), widths.map((w) => '─'.repeat(w)).join('  ')];
  for (const row of rows) out.push(line(row));
  return out.join('\n');
}
