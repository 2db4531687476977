/** The selected tensor: its header entry, then its value statistics and histogram once the host sends them. */
import type { TensorStats, TensorSummary } from '../../src/shared/webview-protocol.js';
import { SimpleBarChart } from '../charts/simple-bar-chart.js';
import { definitionList, el, sectionHeading, spinner } from '../dom.js';
import { elementCount, formatBytes, formatCount, formatInteger, formatPercent, formatShape, formatValue } from '../format.js';

export type StatsResult = { readonly kind: 'pending' } | { readonly kind: 'stats'; readonly stats: TensorStats } | { readonly kind: 'error'; readonly message: string };

const HISTOGRAM_TICKS = 5;

function countWithShare(count: number, total: number, warnWhenNonZero = false): HTMLElement {
  const text = count === 0 ? '0' : `${formatInteger(count)} (${formatPercent(count / Math.max(1, total))})`;
  return el('span', { className: warnWhenNonZero && count > 0 ? 'warning-text' : undefined, text });
}

export class TensorDetail {
  readonly element: HTMLElement;
  private histogram: SimpleBarChart | null = null;
  private logarithmic = false;

  constructor() {
    this.element = el('aside', { className: 'panel tensor-detail', attrs: { 'aria-label': 'Selected tensor' } });
    this.clear();
  }

  clear(): void {
    this.dropHistogram();
    this.element.replaceChildren(sectionHeading('Tensor', 'h3'), el('p', { className: 'muted', text: 'Select a tensor (click, or ↑/↓ and Enter) to see its value statistics.' }));
  }

  show(tensor: TensorSummary, result: StatsResult): void {
    this.dropHistogram();
    const [start, end] = tensor.dataOffsets;
    const header = definitionList([
      ['DType', tensor.dtype],
      ['Shape', formatShape(tensor.shape)],
      ['Elements', el('span', { text: formatCount(elementCount(tensor.shape)), attrs: { title: formatInteger(elementCount(tensor.shape)) } })],
      ['Bytes', `${formatBytes(end - start)} at offset ${formatInteger(start)}`],
      ...(tensor.shard ? [['Shard', el('span', { className: 'path', text: tensor.shard })] as const] : []),
    ]);
    this.element.replaceChildren(el('h3', { className: 'section-heading tensor-name', text: tensor.name }), header, this.statsSection(result));
  }

  private statsSection(result: StatsResult): HTMLElement {
    if (result.kind === 'pending') return el('div', { className: 'stats-section' }, spinner('Computing statistics…'));
    if (result.kind === 'error') {
      return el('div', { className: 'stats-section' }, el('p', { className: 'error-text', attrs: { role: 'alert' }, text: `Statistics unavailable: ${result.message}` }));
    }
    const s = result.stats;
    const facts = definitionList(
      [
        ['Min', formatValue(s.min)],
        ['Max', formatValue(s.max)],
        ['Mean', formatValue(s.mean)],
        ['Std', formatValue(s.std)],
        ['Abs max', formatValue(s.absMax)],
        ['L2 norm', formatValue(s.l2Norm)],
        ['Zeros', countWithShare(s.zeros, s.count)],
        ['NaN', countWithShare(s.nans, s.count, true)],
        ['Inf', countWithShare(s.infs, s.count, true)],
      ],
      'facts facts--grid',
    );
    const section = el('div', { className: 'stats-section' }, facts);
    const { histogram } = s;
    if (histogram.counts.length > 0 && s.finiteCount > 0) {
      const bins = histogram.counts.length;
      const width = (histogram.max - histogram.min) / bins;
      const edge = (i: number) => histogram.min + i * width;
      const tickEvery = Math.max(1, Math.round(bins / HISTOGRAM_TICKS));
      this.histogram = new SimpleBarChart({
        ariaLabel: `Histogram of ${s.finiteCount} finite values in ${bins} bins from ${formatValue(histogram.min)} to ${formatValue(histogram.max)}`,
        values: histogram.counts,
        color: 'blue',
        xAxisTitle: 'value',
        yAxisTitle: 'elements',
        tickLabel: (i) => (i % tickEvery === 0 ? formatValue(edge(i), 3) : null),
        tooltipTitle: (i) => `[${formatValue(edge(i))}, ${formatValue(edge(i + 1))}${i === bins - 1 ? ']' : ')'}`,
        tooltipValue: (count) => `${formatInteger(count)} elements`,
        logarithmic: this.logarithmic,
      });
      const logToggle = el('vscode-checkbox', { attrs: { label: 'Logarithmic count axis' } });
      logToggle.checked = this.logarithmic;
      logToggle.addEventListener('change', () => {
        this.logarithmic = logToggle.checked;
        this.histogram?.setLogarithmic(this.logarithmic);
      });
      section.append(el('div', { className: 'chart-heading' }, el('span', { className: 'chart-title', text: 'Histogram' }), logToggle), this.histogram.element);
    }
    return section;
  }

  private dropHistogram(): void {
    this.histogram?.destroy();
    this.histogram = null;
  }
}
