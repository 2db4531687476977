/**
 * ZipLoRA tab (docs/merge-method.md §6): the recipe, then per-layer charts in network order by block — coefficient
 * sparsity, column overlap before and after merging, relative errors of ZipLoRA and of the direct merge.
 * Opening a layer asks the host for its coefficients and shows m_c against m_s per column with its numbers.
 */
import type { LayerReport, ZipLoraView } from '../../src/shared/webview-protocol.js';
import { CoefficientScatter } from '../charts/coefficient-scatter.js';
import { LayerChart, type LayerChartSpec } from '../charts/layer-chart.js';
import { definitionList, el, sectionHeading, spinner } from '../dom.js';
import { formatInteger, formatPercent, formatValue } from '../format.js';
import { blockOf, DEFAULT_SPARSITY_THRESHOLD, inNetworkOrder } from '../core-modules.js';
import type { ViewContext } from './view-context.js';

/** ‖ΔW_merged‖ / ‖ΔW_direct‖ below this means the merge lost most of the layer. */
const COLLAPSE_RATIO = 0.5;

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

function recipeValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export class ZipLoraReportView {
  readonly element: HTMLElement;
  private readonly layers: LayerReport[];
  private readonly charts: LayerChart[] = [];
  private readonly detail: HTMLElement;
  private readonly threshold: number;
  private scatter: CoefficientScatter | null = null;
  private selected: string | null = null;

  constructor(private readonly report: ZipLoraView, private readonly context: ViewContext) {
    this.layers = inNetworkOrder(report.layers, (l) => l.module);
    const configured = report.recipe.sparsityThreshold ?? report.recipe.threshold;
    this.threshold = typeof configured === 'number' && configured > 0 ? configured : DEFAULT_SPARSITY_THRESHOLD;
    this.detail = el('section', { className: 'panel layer-detail', attrs: { 'aria-label': 'Selected layer' } });
    this.element = el('div', { className: 'ziplora' }, this.recipePanel(), this.layers.length ? this.chartsPanel() : el('p', { className: 'muted', text: 'The report has no layers.' }), this.detail);
    this.detail.hidden = true;
    const saved = context.state.value.zipLoraLayer;
    if (saved && this.layers.some((l) => l.module === saved)) this.open(saved);
  }

  /** A `layerCoefficients` reply; ignored unless it is for the layer on screen. */
  showCoefficients(module: string, mContent: readonly number[], mStyle: readonly number[], error: string | undefined): void {
    if (module !== this.selected) return;
    const layer = this.layers.find((l) => l.module === module);
    if (!layer) return;
    this.dropScatter();
    const plot = this.detail.querySelector('.scatter-slot');
    if (!plot) return;
    if (error) {
      plot.replaceChildren(el('p', { className: 'error-text', attrs: { role: 'alert' }, text: `Coefficients unavailable: ${error}` }));
      return;
    }
    this.scatter = new CoefficientScatter(module, mContent, mStyle, this.threshold);
    plot.replaceChildren(
      el('div', { className: 'chart-heading' }, el('span', { className: 'chart-title', text: `m_c vs m_s per column (${formatInteger(Math.min(mContent.length, mStyle.length))} columns)` })),
      el('p', { className: 'chart-caption', text: `Dashed lines: sparsity threshold ${this.threshold}. Points on an axis are zipped columns (one LoRA kept).` }),
      this.scatter.element,
    );
  }

  private recipePanel(): HTMLElement {
    const { recipe } = this.report;
    const entries = Object.entries(recipe);
    const reveal = (which: 'merged' | 'sidecar', label: string) => {
      const button = el('vscode-button', { text: label, attrs: { secondary: which === 'sidecar' } });
      button.addEventListener('click', () => this.context.post({ type: 'revealFile', which }));
      return button;
    };
    const collapsed = this.layers.filter((l) => l.normRatio < COLLAPSE_RATIO).length;
    return el(
      'section',
      { className: 'panel' },
      sectionHeading('ZipLoRA merge'),
      definitionList([
        ['Merged file', el('span', { className: 'path', text: this.report.mergedFile })],
        ['Sidecar', el('span', { className: 'path', text: this.report.sidecar })],
        ['Layers', formatInteger(this.layers.length)],
        ['Mean zipped columns', formatPercent(mean(this.layers.map((l) => l.zipped)))],
        ['Mean overlap', `${formatValue(mean(this.layers.map((l) => l.overlapBefore)), 3)} before → ${formatValue(mean(this.layers.map((l) => l.overlapAfter)), 3)} after`],
        ['Collapsed layers', el('span', { className: collapsed ? 'warning-text' : undefined, text: `${collapsed} (‖ΔW_merged‖ / ‖ΔW_direct‖ < ${COLLAPSE_RATIO})` })],
      ]),
      el('div', { className: 'toolbar' }, reveal('merged', 'Reveal merged file'), reveal('sidecar', 'Reveal sidecar')),
      el('h3', { className: 'subheading', text: 'Recipe' }),
      entries.length
        ? el('div', { className: 'recipe' }, ...entries.map(([key, value]) => el('span', { className: 'recipe-item' }, el('span', { className: 'recipe-key', text: key }), el('span', { className: 'recipe-value', text: recipeValue(value) }))))
        : el('p', { className: 'muted', text: 'The sidecar has no recipe.' }),
    );
  }

  private chartsPanel(): HTMLElement {
    const modules = this.layers.map((l) => l.module);
    const column = (pick: (l: LayerReport) => number) => this.layers.map(pick);
    const common: Pick<LayerChartSpec, 'modules' | 'style' | 'onActivate'> = {
      modules,
      style: 'line',
      onActivate: (index) => this.open(modules[index], true),
    };
    this.charts.push(
      new LayerChart({
        ...common,
        title: 'Coefficient sparsity',
        caption: `Lines: fraction of each layer’s coefficients below ${this.threshold}. Shaded: columns kept by exactly one LoRA (zipped).`,
        series: [
          { label: 'content m_c sparse', values: column((l) => l.sparsityContent), color: 'blue' },
          { label: 'style m_s sparse', values: column((l) => l.sparsityStyle), color: 'orange' },
          { label: 'zipped columns', values: column((l) => l.zipped), color: 'green', baseline: true },
        ],
        yAxisTitle: 'fraction',
        yMin: 0,
        yMax: 1,
        formatValue: formatPercent,
      }),
      new LayerChart({
        ...common,
        title: 'Column overlap: before vs after',
        caption: 'Shaded: mean |cos(c_j, s_j)| and overlap of the two LoRAs before merging. Line: overlap with the learned coefficients.',
        series: [
          { label: 'mean |cos| before', values: column((l) => l.meanAbsCosine), color: 'purple', baseline: true },
          { label: 'overlap before', values: column((l) => l.overlapBefore), color: 'red', baseline: true },
          { label: 'overlap after', values: column((l) => l.overlapAfter), color: 'green' },
        ],
        yAxisTitle: 'overlap',
        yMin: 0,
        formatValue: (v) => formatValue(v, 3),
      }),
      new LayerChart({
        ...common,
        title: 'Relative error: ZipLoRA vs direct merge',
        caption: 'The fidelity terms of the objective, ‖(ΔW_merged − ΔW_c)·W_c‖² / ‖ΔW_c·W_c‖² and the same for style. Lines: ZipLoRA. Shaded: the direct (summed) merge.',
        series: [
          { label: 'content, ZipLoRA', values: column((l) => l.contentError), color: 'blue' },
          { label: 'style, ZipLoRA', values: column((l) => l.styleError), color: 'orange' },
          { label: 'content, direct', values: column((l) => l.directContentError), color: 'blue', baseline: true },
          { label: 'style, direct', values: column((l) => l.directStyleError), color: 'orange', baseline: true },
        ],
        yAxisTitle: 'relative error',
        yMin: 0,
        formatValue: (v) => formatValue(v, 3),
      }),
    );
    return el('section', { className: 'panel charts' }, sectionHeading('Per layer', 'h3'), ...this.charts.map((c) => c.element));
  }

  private open(module: string, reveal = false): void {
    const index = this.layers.findIndex((l) => l.module === module);
    if (index < 0) return;
    const layer = this.layers[index];
    this.selected = module;
    for (const chart of this.charts) chart.setSelected(index);
    this.context.state.update({ zipLoraLayer: module });
    this.dropScatter();
    this.detail.hidden = false;
    this.detail.replaceChildren(
      el('h3', { className: 'section-heading tensor-name', text: module }),
      el(
        'div',
        { className: 'split split--detail' },
        el('div', { className: 'scatter-slot' }, spinner('Loading coefficients…')),
        definitionList([
          ['Block', blockOf(module).name],
          ['Columns', formatInteger(layer.columns)],
          ['Content sparsity', formatPercent(layer.sparsityContent)],
          ['Style sparsity', formatPercent(layer.sparsityStyle)],
          ['Zipped / both on / both off', `${formatPercent(layer.zipped)} / ${formatPercent(layer.bothOn)} / ${formatPercent(layer.bothOff)}`],
          ['Mean |cos| before', formatValue(layer.meanAbsCosine)],
          ['Overlap before → after', `${formatValue(layer.overlapBefore)} → ${formatValue(layer.overlapAfter)}`],
          ['Content error (direct)', `${formatValue(layer.contentError)} (${formatValue(layer.directContentError)})`],
          ['Style error (direct)', `${formatValue(layer.styleError)} (${formatValue(layer.directStyleError)})`],
          ['‖ΔW_merged‖ / ‖ΔW_direct‖', el('span', { className: layer.normRatio < COLLAPSE_RATIO ? 'warning-text' : undefined, text: formatValue(layer.normRatio) })],
          ['Steps', formatInteger(layer.steps)],
          ['Final loss', formatValue(layer.loss)],
        ]),
      ),
    );
    // The detail sits under the charts: bring it into view when the user opened it from one.
    if (reveal) this.detail.scrollIntoView({ block: 'nearest' });
    this.context.post({ type: 'requestLayerCoefficients', module });
  }

  private dropScatter(): void {
    this.scatter?.destroy();
    this.scatter = null;
  }
}
