/** Plain-text formatting helpers for the command-line tool. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${BYTE_UNITS[unit]}`;
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
  // Plain loops: a large header's table has thousands of rows, and per-row arrays from map/join add up.
  const widths = headings.map((h) => h.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let i = 0; i < widths.length; i++) if (row[i].length > widths[i]) widths[i] = row[i].length;
  }
  const line = (cells: string[]) => {
    let text = '';
    for (let i = 0; i < cells.length; i++) {
      if (i > 0) text += '  ';
      text += alignRight[i] ? cells[i].padStart(widths[i]) : cells[i].padEnd(widths[i]);
    }
    return text.trimEnd();
  };
  let out = `${line(headings)}\n${widths.map((w) => '─'.repeat(w)).join('  ')}`;
  for (let r = 0; r < rows.length; r++) out += `\n${line(rows[r])}`;
  return out;
}
