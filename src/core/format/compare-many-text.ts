/** Readable text for `compare` with three or more files: each pair's pairing, and mean |cos| per block and per layer. */
import { fileLetter, ManyComparison } from '../lora/compare-many';
import { inNetworkOrder } from '../lora/network-blocks';
import { formatCount, formatNumber, renderTable } from './format';
import { CompareSides, describeSide, listSome } from './lora-text';

type Side = CompareSides['first'];

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);

export function renderManyComparisonText(sides: readonly Side[], { pairs, blocks }: ManyComparison): string {
  const pairName = (a: number, b: number) => `${fileLetter(a)}·${fileLetter(b)}`;
  const names = pairs.map((p) => pairName(p.a, p.b));
  const lines = sides.map((s, i) => describeSide(fileLetter(i), s.path, s.layers, s.format, s.baseModel));
  lines.push('');
  pairs.forEach(({ a, b, comparison: { report } }, p) => {
    const [first, second] = [fileLetter(a), fileLetter(b)];
    lines.push(`${p === 0 ? 'Pairing' : '       '}      ${names[p]}: ${formatCount(report.paired.length)} paired, ${formatCount(report.onlyInFirst.length)} only in ${first}, ${formatCount(report.onlyInSecond.length)} only in ${second}, ${formatCount(report.refused.length)} refused`);
    if (report.refused.length) lines.push(...listSome(report.refused.map((r) => `${r.module}: ${r.reason}`), '               '));
  });
  const cell = (value: number | null | undefined) => (value === null || value === undefined ? '—' : formatNumber(value));
  lines.push('', 'Mean |cos| per block: the mean over the block’s paired layers of mean_j |cos(ΔW_X[:,j], ΔW_Y[:,j])| (0 = independent, 1 = aligned)');
  lines.push(renderTable(['block', ...names], blocks.map((b) => [b.block, ...b.meanAbsCosine.map(cell)]), [false, ...names.map(() => true)]));
  // Per layer: one row a module that any pair measured, in network order.
  const byPair = pairs.map(({ comparison }) => new Map(comparison.measures.map((m) => [m.module, m.meanAbsCosine])));
  const modules = inNetworkOrder([...new Set(pairs.flatMap(({ comparison }) => comparison.measures.map((m) => m.module)))], (m) => m);
  lines.push('', 'Mean |cos| per layer');
  lines.push(renderTable(['module', ...names], modules.map((m) => [m, ...byPair.map((measures) => cell(measures.get(m)))]), [false, ...names.map(() => true)]));
  const overall = pairs.map(({ comparison }) => mean(comparison.measures.flatMap((m) => (m.meanAbsCosine === null ? [] : [m.meanAbsCosine]))));
  lines.push('', `Mean over layers: ${names.map((n, p) => `${n} ${cell(overall[p])}`).join(', ')}`);
  return lines.join('\n');
}
