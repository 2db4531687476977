/** Plain-text formatting helpers for the command-line tool. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  const units = BYTE_UNITS;
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

/** Runs of spaces by length, made once each: padding a large table's cells then allocates nothing. */
const spaceRuns: string[] = [''];
function spaces(count: number): string {
  if (count > 256) return ' '.repeat(count);
  while (spaceRuns.length <= count) spaceRuns.push(' '.repeat(spaceRuns.length));
  return spaceRuns[count];
}

/** Whether trimEnd might shorten a text, from its last character: false for most cells without a regex. */
function endsInSpace(text: string): boolean {
  const code = text.charCodeAt(text.length - 1);
  return code <= 0x20 || (code >= 0xa0 && /\s$/.test(text));
}

/**
 * Left-aligned text columns, right-aligned where `alignRight[i]` is set; one line per row, with trailing
 * whitespace removed. The pieces of all lines go into one array joined once: a large header's table has
 * thousands of rows, and padded copies and a trimmed copy of every line were most of its garbage.
 */
export function renderTable(headings: string[], rows: string[][], alignRight: boolean[] = []): string {
  const widths = headings.map((h) => h.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let i = 0; i < widths.length; i++) if (row[i].length > widths[i]) widths[i] = row[i].length;
  }
  const parts: string[] = [];
  const isBlank = (piece: string) => piece === '' || (endsInSpace(piece) && piece.trimEnd() === '');
  const line = (cells: string[]) => {
    const start = parts.length;
    for (let i = 0; i < cells.length; i++) {
      if (i > 0) parts.push('  ');
      const cell = cells[i];
      // A width missing (more cells than headings) pads nothing, as padStart/padEnd(undefined) do.
      const pad = widths[i] > cell.length ? spaces(widths[i] - cell.length) : '';
      if (alignRight[i]) parts.push(pad, cell);
      else parts.push(cell, pad);
    }
    // trimEnd of the whole line: drop the trailing pieces that are all whitespace, trim the last one left.
    while (parts.length > start && isBlank(parts[parts.length - 1])) parts.pop();
    const last = parts.length - 1;
    if (last >= start && endsInSpace(parts[last])) parts[last] = parts[last].trimEnd();
  };
  line(headings);
  parts.push('\n', widths.map((w) => '─'.repeat(w)).join('  '));
  for (let r = 0; r < rows.length; r++) {
    parts.push('\n');
    line(rows[r]);
  }
  return parts.join('');
}
