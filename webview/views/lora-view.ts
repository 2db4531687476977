/**
 * LoRA tab: the adapter's problems, a per-layer chart of ‖ΔW‖ or effective rank (toggle) in network order by
 * block, and the per-layer table. Per-layer measures need the tensor data, so they arrive later
 * (`loraLayers`); until then the tab says they are being computed. Chart and table select together.
 */
import type { FileView, LoraLayerSummary } from '../../src/shared/webview-protocol.js';
import { LayerChart } from '../charts/layer-chart.js';
import { SimpleBarChart } from '../charts/simple-bar-chart.js';
import { FilterBox } from '../components/filter-box.js';
import { VirtualTable, type Column } from '../components/virtual-table.js';
import { definitionList, el, sectionHeading, spinner } from '../dom.js';
import { formatInteger, formatValue } from '../format.js';
import { compareNatural } from '../natural-order.js';
import { blockOf, inNetworkOrder } from '../core-modules.js';
import type { LoraMetric } from '../state.js';
import type { ViewContext } from './view-context.js';

type Lora = NonNullable<FileView['lora']>;

const nullLast = (a: number | null, b: number | null) => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : a - b);

const COLUMNS: readonly Column<LoraLayerSummary>[] = [
  { id: 'module', truncateStart: true, label: 'Module', text: (l) => l.module, title: (l) => `${l.module}\nblock ${blockOf(l.module).name}\n${l.tensors.down}\n${l.tensors.up}`, compare: (a, b) => compareNatural(a.module, b.module) },
  { id: 'kind', label: 'Kind', text: (l) => (l.kind === 'conv' && l.kernel ? `conv ${l.kernel[0]}×${l.kernel[1]}` : l.kind), compare: (a, b) => compareNatural(a.kind, b.kind) },
  { id: 'in', label: 'In', text: (l) => formatInteger(l.in), compare: (a, b) => a.in - b.in, align: 'end' },
  { id: 'out', label: 'Out', text: (l) => formatInteger(l.out), compare: (a, b) => a.out - b.out, align: 'end' },
  { id: 'rank', label: 'Rank', text: (l) => String(l.rank), compare: (a, b) => a.rank - b.rank, align: 'end' },
  { id: 'alpha', label: 'Alpha', text: (l) => (l.alpha === null ? '—' : formatValue(l.alpha)), compare: (a, b) => nullLast(a.alpha, b.alpha), align: 'end' },
  { id: 'scale', label: 'Scale', text: (l) => formatValue(l.scale), compare: (a, b) => a.scale - b.scale, align: 'end' },
  { id: 'norm', label: '‖ΔW‖', text: (l) => formatValue(l.norm), compare: (a, b) => nullLast(a.norm, b.norm), align: 'end' },
  { id: 'effectiveRank', label: 'Eff. rank', text: (l) => formatValue(l.effectiveRank, 3), compare: (a, b) => nullLast(a.effectiveRank, b.effectiveRank), align: 'end' },
];

const METRICS: Readonly<Record<LoraMetric, { label: string; axis: string; caption: string }>> = {
  norm: { label: '‖ΔW‖', axis: '‖ΔW‖_F', caption: 'Frobenius norm of each layer’s update, scale included.' },
  effectiveRank: { label: 'Effective rank', axis: 'effective rank', caption: 'Entropy-based effective rank of each layer’s update (at most its rank).' },
};

export class LoraView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private layers: LoraLayerSummary[] = [];
  private chart: LayerChart | null = null;
  private table: VirtualTable<LoraLayerSummary> | null = null;
  private filter: FilterBox | null = null;
  private readonly detail: HTMLElement;
  private spectrum: SimpleBarChart | null = null;

  constructor(private readonly lora: Lora, private readonly context: ViewContext) {
    this.body = el('div', { className: 'lora-body' }, spinner('Computing per-layer measures (‖ΔW‖, effective rank)…'));
    this.detail = el('aside', { className: 'panel layer-detail', attrs: { 'aria-label': 'Selected layer' } });
    this.element = el('div', { className: 'lora' }, this.problems(), this.body);
  }

  setLayers(layers: readonly LoraLayerSummary[]): void {
    this.chart?.destroy();
    this.layers = inNetworkOrder(layers, (l) => l.module);
    if (this.layers.length === 0) {
      this.body.replaceChildren(el('p', { className: 'muted', text: 'No LoRA layers were recognised in this file.' }));
      return;
    }
    const saved = this.context.state.value;
    const metric = saved.loraMetric;
    this.chart = new LayerChart({
      title: `Per-layer ${METRICS[metric].label}`,
      caption: 'Layers in network order; shaded bands are blocks. Click a layer (or focus the chart and use ←/→ and Enter) for its details.',
      modules: this.layers.map((l) => l.module),
      series: [this.series(metric)],
      style: 'bar',
      yAxisTitle: METRICS[metric].axis,
      formatValue: (v) => formatValue(v, 3),
      onActivate: (index) => this.selectLayer(this.layers[index].module, 'chart'),
    });
    const toggle = this.metricToggle(metric);
    this.table = new VirtualTable({
      className: 'lora-table',
      ariaLabel: 'LoRA layers',
      columns: COLUMNS,
      rowKey: (l) => l.module,
      onSelect: (l) => this.selectLayer(l.module, 'table'),
      onSortChange: (sort) => this.save({ sort }),
      onScroll: (scrollTop) => this.context.state.updateLater({ loraLayers: { ...this.context.state.value.loraLayers, scrollTop } }),
      emptyText: 'No layer matches the filter.',
    });
    this.filter = new FilterBox({
      label: 'Filter layers by module name',
      initial: saved.loraLayers.filter,
      onChange: (text) => {
        this.applyFilter();
        this.save({ filter: text, scrollTop: 0 });
      },
    });
    this.table.setSort(saved.loraLayers.sort);
    this.applyFilter();
    this.table.setScrollTop(saved.loraLayers.scrollTop);
    this.detail.replaceChildren(sectionHeading('Layer', 'h3'), el('p', { className: 'muted', text: 'Select a layer in the chart or the table.' }));
    this.body.replaceChildren(
      el('section', { className: 'panel' }, el('div', { className: 'toolbar' }, toggle), this.chart.element),
      el('section', { className: 'panel' }, sectionHeading(`Layers (${this.layers.length})`, 'h3'), this.filter.element, el('div', { className: 'split' }, this.table.element, this.detail)),
    );
    if (saved.loraLayers.selected) this.selectLayer(saved.loraLayers.selected, 'restore');
  }

  private series(metric: LoraMetric) {
    return { label: METRICS[metric].label, values: this.layers.map((l) => (metric === 'norm' ? l.norm : l.effectiveRank)), color: metric === 'norm' ? 'blue' : 'green' } as const;
  }

  private metricToggle(initial: LoraMetric): HTMLElement {
    const buttons = new Map<LoraMetric, HTMLElementTagNameMap['vscode-button']>();
    const group = el('div', { className: 'segmented', attrs: { role: 'group', 'aria-label': 'Measure shown in the chart' } });
    const show = (metric: LoraMetric) => {
      for (const [m, button] of buttons) {
        button.secondary = m !== metric;
        button.setAttribute('aria-pressed', String(m === metric));
      }
    };
    for (const metric of Object.keys(METRICS) as LoraMetric[]) {
      const button = el('vscode-button', { text: METRICS[metric].label });
      button.addEventListener('click', () => {
        show(metric);
        this.context.state.update({ loraMetric: metric });
        this.chart?.setSeries([this.series(metric)], METRICS[metric].axis);
        this.chart?.element.querySelector('.chart-title')?.replaceChildren(`Per-layer ${METRICS[metric].label}`);
      });
      buttons.set(metric, button);
      group.append(button);
    }
    show(initial);
    return group;
  }

  private applyFilter(): void {
    if (!this.filter || !this.table) return;
    const { matches } = this.filter.current();
    const rows = this.layers.filter((l) => matches(l.module));
    this.table.setRows(rows);
    this.filter.setCount(rows.length, this.layers.length);
  }

  private selectLayer(module: string, from: 'chart' | 'table' | 'restore'): void {
    const index = this.layers.findIndex((l) => l.module === module);
    if (index < 0) return;
    const layer = this.layers[index];
    if (from !== 'chart') this.chart?.setSelected(index);
    if (from !== 'table') this.table?.setSelectedKey(module, from === 'chart');
    this.save({ selected: module });
    this.showDetail(layer);
  }

  private showDetail(layer: LoraLayerSummary): void {
    this.spectrum?.destroy();
    this.spectrum = null;
    const facts = definitionList([
      ['Block', blockOf(layer.module).name],
      ['Kind', layer.kind === 'conv' && layer.kernel ? `conv ${layer.kernel[0]}×${layer.kernel[1]}` : layer.kind],
      ['In × out', `${formatInteger(layer.in)} × ${formatInteger(layer.out)}`],
      ['Rank', String(layer.rank)],
      ['Alpha', layer.alpha === null ? 'none' : formatValue(layer.alpha)],
      ['Scale', formatValue(layer.scale)],
      ['‖ΔW‖', formatValue(layer.norm)],
      ['Effective rank', formatValue(layer.effectiveRank, 3)],
      ['Rank for 90 % energy', layer.rankFor90PercentEnergy === null ? '—' : String(layer.rankFor90PercentEnergy)],
      ['Down', el('span', { className: 'path', text: layer.tensors.down })],
      ['Up', el('span', { className: 'path', text: layer.tensors.up })],
      ...(layer.tensors.alpha ? [['Alpha tensor', el('span', { className: 'path', text: layer.tensors.alpha })] as const] : []),
    ]);
    const children: (HTMLElement | null)[] = [el('h3', { className: 'section-heading tensor-name', text: layer.module }), facts];
    if (layer.singularValues.length > 0) {
      this.spectrum = new SimpleBarChart({
        ariaLabel: `Singular values of ${layer.module}`,
        values: layer.singularValues,
        color: 'purple',
        xAxisTitle: 'index',
        yAxisTitle: 'σ',
        tickLabel: (i) => String(i + 1),
        tooltipTitle: (i) => `σ${i + 1}`,
        tooltipValue: (v) => formatValue(v),
      });
      children.push(el('div', { className: 'chart-heading' }, el('span', { className: 'chart-title', text: 'Singular values of ΔW' })), this.spectrum.element);
    }
    this.detail.replaceChildren(...children.filter((c): c is HTMLElement => c !== null));
  }

  private problems(): HTMLElement | null {
    const { problems } = this.lora;
    if (problems.length === 0) return null;
    return el(
      'section',
      { className: 'panel warning-panel', attrs: { role: 'note' } },
      sectionHeading(`Problems (${problems.length})`, 'h3'),
      el('ul', { className: 'problems' }, ...problems.map((p) => el('li', {}, el('code', { text: p.module }), ` — ${p.problem}`))),
    );
  }

  private save(change: Partial<ViewContext['state']['value']['loraLayers']>): void {
    this.context.state.update({ loraLayers: { ...this.context.state.value.loraLayers, ...change } });
  }
}
