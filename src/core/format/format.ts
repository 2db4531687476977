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

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
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
