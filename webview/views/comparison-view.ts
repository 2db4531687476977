/**
 * The Compare command's view: how two LoRAs pair up (paired, only in one, refused with the reason) and, per
 * paired layer in network order, the mean |cosine| between their columns and each side's ‖ΔW‖.
 */
import type { ComparisonView } from '../../src/shared/webview-protocol.js';
import { LayerChart } from '../charts/layer-chart.js';
import { definitionList, el, sectionHeading } from '../dom.js';
import { baseName, formatInteger, formatValue } from '../format.js';
import { inNetworkOrder } from '../core-modules.js';

/** Lists at most this many names; the rest are counted. */
const LIST_LIMIT = 50;

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

export function renderComparison(comparison: ComparisonView): HTMLElement {
  const { first, second } = comparison;
  const layers = inNetworkOrder(comparison.layers, (l) => l.module);
  const modules = layers.map((l) => l.module);
  const side = (label: string, f: ComparisonView['first']) => [label, el('span', { className: 'path', text: `${f.file} — ${f.format}; ${f.baseModel}; ${formatInteger(f.layers)} layers` })] as const;
  const cosine = new LayerChart({
    title: 'Column cosine',
    caption: 'mean_j |cos(c_j, s_j)| between the columns of A’s and B’s ΔW, per paired layer: high means the two LoRAs write into the same input directions, where a plain sum interferes.',
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
    title: '‖ΔW‖ of each LoRA',
    caption: 'Frobenius norm of each paired layer’s update, scale included: which LoRA is stronger where.',
    modules,
    series: [
      { label: `A: ${baseName(first.file)}`, values: layers.map((l) => l.normFirst), color: 'blue' },
      { label: `B: ${baseName(second.file)}`, values: layers.map((l) => l.normSecond), color: 'orange' },
    ],
    style: 'line',
    yAxisTitle: '‖ΔW‖_F',
    yMin: 0,
    formatValue: (v) => formatValue(v, 3),
    onActivate: () => undefined,
  });
  return el(
    'div',
    { className: 'comparison' },
    el(
      'section',
      { className: 'panel' },
      sectionHeading('Pairing'),
      definitionList([
        side('A', first),
        side('B', second),
        ['Paired layers', formatInteger(comparison.paired)],
        ['Only in A', formatInteger(comparison.onlyInFirst.length)],
        ['Only in B', formatInteger(comparison.onlyInSecond.length)],
        ['Refused', formatInteger(comparison.refused.length)],
      ]),
      nameList('Refused pairs (shapes differ)', comparison.refused.map((r) => `${r.module}: ${r.reason}`)),
      nameList('Only in A (a merge copies them unchanged)', comparison.onlyInFirst),
      nameList('Only in B (a merge copies them unchanged)', comparison.onlyInSecond),
    ),
    el('section', { className: 'panel' }, sectionHeading('Per layer'), cosine.element, norms.element),
  );
}
