/**
 * The Compare command's view: how two to eight LoRAs pair up (paired, only in one, refused with the reason) and,
 * per paired layer in network order, the mean |cosine| between their columns and each side's ‖ΔW‖. With three
 * or more files a table gives each pair's mean |cos| per block, and a pair picker chooses the pair the per-layer
 * charts show. Two files read as they always have: A and B.
 */
import type { ComparedFile, ComparisonView, PairComparisonView } from '../../src/shared/webview-protocol.js';
import { LayerChart } from '../charts/layer-chart.js';
import { pairPicker } from '../components/pair-picker.js';
import { definitionList, el, sectionHeading } from '../dom.js';
import { baseName, formatInteger, formatValue } from '../format.js';
import { inNetworkOrder } from '../core-modules.js';

/** Lists at most this many names; the rest are counted. */
const LIST_LIMIT = 50;

const letter = (index: number) => String.fromCharCode(65 + index);
const pairName = (pair: Pick<PairComparisonView, 'a' | 'b'>) => `${letter(pair.a)}·${letter(pair.b)}`;

function nameList(title: string, names: readonly string[]): HTMLElement | null {
  if (!names.length) return null;
  const shown = names.slice(0, LIST_LIMIT);
  return el(
    'details',
    { className: 'name-list' },
    el('summary', { text: `${title} (${formatInteger(names.length)})` }),
    el('ul', {}, ...shown.map((n) => el('li', { text: n })), names.length > shown.length ? el('li', { className: 'muted', text: `… and ${formatInteger(names.length - shown.length)} more` }) : null),
  );
}

const fileFacts = (label: string, f: ComparedFile) => [label, el('span', { className: 'path', text: `${f.file} — ${f.format}; ${f.baseModel}; ${formatInteger(f.layers)} layers` })] as const;

/** One pair's pairing facts and its two per-layer charts (kept to be destroyed when another pair is shown). */
function pairSection(comparison: ComparisonView, pair: PairComparisonView): { pairing: HTMLElement; charts: LayerChart[] } {
  const [first, second] = [comparison.files[pair.a], comparison.files[pair.b]];
  const [a, b] = [letter(pair.a), letter(pair.b)];
  const layers = inNetworkOrder(pair.layers, (l) => l.module);
  const modules = layers.map((l) => l.module);
  const cosine = new LayerChart({
    title: comparison.files.length > 2 ? `Column cosine ${a}·${b}` : 'Column cosine',
    caption: `mean_j |cos(c_j, s_j)| between the columns of ${a}’s and ${b}’s ΔW, per paired layer: high means the two LoRAs write into the same input directions, where a plain sum interferes.`,
    modules,
    series: [{ label: 'mean |cos|', values: layers.map((l) => l.meanAbsCosine), color: 'purple' }],
    style: 'bar',
    yAxisTitle: 'mean |cos|',
    yMin: 0,
    yMax: 1,
    formatValue: (v) => formatValue(v, 3),
    onActivate: () => undefined,
  });
  const norms = new LayerChart({
    title: comparison.files.length > 2 ? `‖ΔW‖ of ${a} and ${b}` : '‖ΔW‖ of each LoRA',
    caption: 'Frobenius norm of each paired layer’s update, scale included: which LoRA is stronger where.',
    modules,
    series: [
      { label: `${a}: ${baseName(first.file)}`, values: layers.map((l) => l.normFirst), color: 'blue' },
      { label: `${b}: ${baseName(second.file)}`, values: layers.map((l) => l.normSecond), color: 'orange' },
    ],
    style: 'line',
    yAxisTitle: '‖ΔW‖_F',
    yMin: 0,
    formatValue: (v) => formatValue(v, 3),
    onActivate: () => undefined,
  });
  const facts = definitionList([
    ...(comparison.files.length === 2 ? [fileFacts('A', first), fileFacts('B', second)] : []),
    ['Paired layers', formatInteger(pair.paired)],
    [`Only in ${a}`, formatInteger(pair.onlyInFirst.length)],
    [`Only in ${b}`, formatInteger(pair.onlyInSecond.length)],
    ['Refused', formatInteger(pair.refused.length)],
  ]);
  const pairing = el(
    'div',
    { className: 'pair-pairing' },
    facts,
    nameList('Refused pairs (shapes differ)', pair.refused.map((r) => `${r.module}: ${r.reason}`)),
    nameList(`Only in ${a} (a merge copies them unchanged)`, pair.onlyInFirst),
    nameList(`Only in ${b} (a merge copies them unchanged)`, pair.onlyInSecond),
  );
  return { pairing, charts: [cosine, norms] };
}

/** Each pair's mean |cos| per block as a table, cells shaded by value: where which inputs fight. */
function blockTable(comparison: ComparisonView): HTMLElement {
  const names = comparison.pairs.map(pairName);
  const cell = (value: number | null) => {
    const td = el('td', { className: 'heat num', text: value === null ? '—' : formatValue(value, 3) });
    td.style.setProperty('--heat', String(value === null ? 0 : Math.max(0, Math.min(1, value))));
    return td;
  };
  return el(
    'table',
    { className: 'data-table pair-table' },
    el('thead', {}, el('tr', {}, el('th', { text: 'block', attrs: { scope: 'col' } }), ...names.map((n) => el('th', { className: 'num', text: n, attrs: { scope: 'col' } })))),
    el('tbody', {}, ...comparison.blocks.map((b) => el('tr', {}, el('th', { text: b.block, attrs: { scope: 'row' } }), ...b.meanAbsCosine.map(cell)))),
  );
}

export function renderComparison(comparison: ComparisonView): HTMLElement {
  if (comparison.files.length === 2) {
    const { pairing, charts } = pairSection(comparison, comparison.pairs[0]);
    return el('div', { className: 'comparison' }, el('section', { className: 'panel' }, sectionHeading('Pairing'), pairing), el('section', { className: 'panel' }, sectionHeading('Per layer'), ...charts.map((c) => c.element)));
  }
  const slot = el('div', { className: 'pair-section' });
  let charts: LayerChart[] = [];
  const show = (index: number) => {
    for (const chart of charts) chart.destroy();
    const section = pairSection(comparison, comparison.pairs[index]);
    charts = section.charts;
    slot.replaceChildren(section.pairing, ...charts.map((c) => c.element));
  };
  show(0);
  return el(
    'div',
    { className: 'comparison' },
    el('section', { className: 'panel' }, sectionHeading('Files'), definitionList(comparison.files.map((f, i) => fileFacts(letter(i), f)))),
    el(
      'section',
      { className: 'panel' },
      sectionHeading('Mean |cos| per block'),
      el('p', { className: 'chart-caption', text: 'For each pair, the mean over the block’s paired layers of mean_j |cos| between the two LoRAs’ columns: high means they write into the same input directions there, where block weights or ZipLoRA help.' }),
      // Eight files make 28 pair columns: the table scrolls sideways rather than squeezing them.
      el('div', { className: 'table-scroll' }, blockTable(comparison)),
    ),
    el('section', { className: 'panel' }, sectionHeading('Per pair and layer'), pairPicker(comparison.pairs.map(pairName), 0, show), slot),
  );
}
