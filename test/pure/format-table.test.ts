/** renderTable writes what padding each cell and trimming each line (padStart/padEnd, trimEnd) gives, on awkward cells too. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTable } from '../../src/core/format/format';
import { seededRandom } from '../support/seeded-random';

/** The plain definition: each cell padded to its column's width, joined by two spaces, each line trimmed at its end. */
function reference(headings: string[], rows: string[][], alignRight: boolean[] = []): string {
  const widths = headings.map((h, i) => rows.reduce((w, row) => Math.max(w, row[i].length), h.length));
  const line = (cells: string[]) => cells.map((cell, i) => (alignRight[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headings), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const CELLS = ['', ' ', '  ', 'a', 'ab c', 'x ', ' y', '\t', 'z\n', '\u00a0', 'w\u3000', '\u0001', 'é', '1.5 GiB', 'model.diffusion_model.x.weight', ' '.repeat(300)];

test('renderTable agrees with padding and trimming cell by cell, on random tables of awkward cells', () => {
  const random = seededRandom(11);
  const pick = () => CELLS[Math.floor(random() * CELLS.length)];
  for (let n = 0; n < 3000; n++) {
    const columns = 1 + Math.floor(random() * 4);
    const headings = Array.from({ length: columns }, pick);
    const alignRight = Array.from({ length: columns }, () => random() < 0.5);
    // Rows may hold more cells than there are headings: those are written unpadded.
    const rows = Array.from({ length: Math.floor(random() * 4) }, () => Array.from({ length: columns + (random() < 0.2 ? 1 : 0) }, pick));
    assert.equal(renderTable(headings, rows, alignRight), reference(headings, rows, alignRight), JSON.stringify({ headings, rows, alignRight }));
  }
  assert.equal(renderTable(['a', 'b'], [['x', 'y']]), reference(['a', 'b'], [['x', 'y']]));
});
