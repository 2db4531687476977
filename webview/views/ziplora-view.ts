/**
 * ZipLoRA tab (docs/merge-method.md §6): the inputs and recipe, then per-layer charts in network order by block —
 * coefficient sparsity per input, column overlap before and after for a pair of inputs, relative errors of
 * ZipLoRA and of the direct merge per input — and, for a merge with λ auto, the λ trade-off with the chosen λ.
 * Two inputs read as they always have (content, style, m_c, m_s); with more, a pair picker chooses the pair the
 * overlap chart and the coefficient scatter show, and a table sums up every pair.
 * Opening a layer asks the host for its coefficients and shows one input's against another's per column.
 */
import type { LayerReport, ZipLoraView } from '../../src/shared/webview-protocol.js';
import { CoefficientScatter } from '../charts/coefficient-scatter.js';
import { formatLambda, LambdaCurveChart } from '../charts/lambda-curve.js';
import { LayerChart, type LayerChartSpec, type LayerSeries } from '../charts/layer-chart.js';
import type { SeriesColor } from '../charts/palette.js';
import { pairPicker } from '../components/pair-picker.js';
import { definitionList, el, sectionHeading, spinner } from '../dom.js';
import { formatInteger, formatPercent, formatValue } from '../format.js';
import { blockOf, DEFAULT_SPARSITY_THRESHOLD, inNetworkOrder, inputLabels, inputValues, lambdaSummary, pairValues, reportedPairs } from '../core-modules.js';
import type { ViewContext } from './view-context.js';

/** ‖ΔW_merged‖ / ‖ΔW_direct‖ below this means the merge lost most of the layer. */
const COLLAPSE_RATIO = 0.5;

/** Input i's colour in every chart; the two-input merge keeps its blue content and orange style. Beyond six they repeat. */
const INPUT_COLORS: readonly SeriesColor[] = ['blue', 'orange', 'purple', 'red', 'yellow', 'green'];

const mean = (values: readonly (number | null)[]) => {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0;
};
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

function recipeValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export class ZipLoraReportView {
  readonly element: HTMLElement;
  private readonly layers: LayerReport[];
  private readonly charts: LayerChart[] = [];
  private readonly detail: HTMLElement;
  private readonly threshold: number;
  /** Names of the inputs (content, style; or "1 subject" …) and their coefficient symbols (m_c, m_s; or m_1 …). */
  private readonly labels: string[];
  private readonly symbols: string[];
  private readonly pairs: [number, number][];
  private pairIndex = 0;
  private scatter: CoefficientScatter | null = null;
  private layerCurve: LambdaCurveChart | null = null;
  private selected: string | null = null;
  /** The opened layer's coefficients, kept to redraw the scatter when another pair is picked. */
  private coefficients: { module: string; inputs: readonly number[]; m: readonly (readonly number[])[] } | null = null;

  constructor(private readonly report: ZipLoraView, private readonly context: ViewContext) {
    this.layers = inNetworkOrder(report.layers, (l) => l.module);
    const configured = report.recipe.sparsityThreshold ?? report.recipe.threshold;
    this.threshold = typeof configured === 'number' && configured > 0 ? configured : DEFAULT_SPARSITY_THRESHOLD;
    this.labels = inputLabels(report.inputs.map((i) => i.file));
    this.symbols = this.twoWay ? ['m_c', 'm_s'] : this.labels.map((_, i) => `m_${i + 1}`);
    this.pairs = reportedPairs(this.layers);
    this.detail = el('section', { className: 'panel layer-detail', attrs: { 'aria-label': 'Selected layer' } });
    const lambda = this.lambdaPanel();
    this.element = el(
      'div',
      { className: 'ziplora' },
      this.recipePanel(),
      lambda,
      this.layers.length ? this.chartsPanel() : el('p', { className: 'muted', text: 'The report has no layers.' }),
      this.detail,
    );
    this.detail.hidden = true;
    const saved = context.state.value.zipLoraLayer;
    if (saved && this.layers.some((l) => l.module === saved)) this.open(saved);
  }

  private get twoWay(): boolean {
    return this.report.inputs.length === 2;
  }

  private pairLabel([a, b]: readonly [number, number]): string {
    return `${this.labels[a]} · ${this.labels[b]}`;
  }

  /** A `layerCoefficients` reply; ignored unless it is for the layer on screen. */
  showCoefficients(module: string, inputs: readonly number[], m: readonly (readonly number[])[], error: string | undefined): void {
    if (module !== this.selected) return;
    this.coefficients = error ? null : { module, inputs, m };
    const plot = this.detail.querySelector('.scatter-slot');
    if (!plot) return;
    if (error) {
      this.dropScatter();
      plot.replaceChildren(el('p', { className: 'error-text', attrs: { role: 'alert' }, text: `Coefficients unavailable: ${error}` }));
      return;
    }
    this.drawScatter();
  }

  /** The opened layer's coefficients for the picked pair (or the first pair the layer has). */
  private drawScatter(): void {
    const plot = this.detail.querySelector('.scatter-slot');
    const data = this.coefficients;
    if (!plot || !data || data.module !== this.selected) return;
    this.dropScatter();
    const has = ([a, b]: readonly [number, number]) => data.inputs.includes(a) && data.inputs.includes(b);
    const pair = [this.pairs[this.pairIndex], ...this.pairs].find((p) => p && has(p));
    if (!pair) {
      plot.replaceChildren(el('p', { className: 'muted', text: 'This layer has the coefficients of one input only.' }));
      return;
    }
    const [a, b] = pair;
    const [x, y] = [data.m[data.inputs.indexOf(a)], data.m[data.inputs.indexOf(b)]];
    this.scatter = new CoefficientScatter(data.module, x, y, this.threshold, { x: { symbol: this.symbols[a], name: this.labels[a] }, y: { symbol: this.symbols[b], name: this.labels[b] } });
    plot.replaceChildren(
      el('div', { className: 'chart-heading' }, el('span', { className: 'chart-title', text: `${this.symbols[a]} vs ${this.symbols[b]} per column (${formatInteger(Math.min(x.length, y.length))} columns)` })),
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
    const shares = this.report.shares;
    const overlapOf = (pick: 'overlapBefore' | 'overlapAfter') => mean(this.layers.flatMap((l) => l.pairs.map((p) => p[pick])));
    const methods = (['direct', 'copy'] as const).map((m) => [m, this.layers.filter((l) => l.method === m).length] as const).filter(([, n]) => n > 0);
    return el(
      'section',
      { className: 'panel' },
      sectionHeading('ZipLoRA merge'),
      definitionList([
        ['Merged file', el('span', { className: 'path', text: this.report.mergedFile })],
        ['Sidecar', el('span', { className: 'path', text: this.report.sidecar })],
        ...this.report.inputs.map((input, i) => [this.twoWay ? `Input (${this.labels[i]})` : `Input ${this.labels[i]}`, el('span', { className: 'path', text: input.weight === 1 ? input.file : `${input.file} × ${formatValue(input.weight, 3)}` })] as const),
        ['Layers', formatInteger(this.layers.length)],
        ...methods.map(([method, n]) => [method === 'direct' ? 'Merged directly' : 'Copied (one input)', formatInteger(n)] as const),
        ...(shares ? [['Mean zipped columns', formatPercent(mean(this.layers.map((l) => shares[l.module]?.zipped ?? null)))] as const] : []),
        [this.twoWay ? 'Mean overlap' : 'Mean overlap (all pairs)', `${formatValue(overlapOf('overlapBefore'), 3)} before → ${formatValue(overlapOf('overlapAfter'), 3)} after`],
        ['Collapsed layers', el('span', { className: collapsed ? 'warning-text' : undefined, text: `${collapsed} (‖ΔW_merged‖ / ‖ΔW_direct‖ < ${COLLAPSE_RATIO})` })],
      ]),
      el('div', { className: 'toolbar' }, reveal('merged', 'Reveal merged file'), reveal('sidecar', 'Reveal sidecar')),
      el('h3', { className: 'subheading', text: 'Recipe' }),
      entries.length
        ? el('div', { className: 'recipe' }, ...entries.map(([key, value]) => el('span', { className: 'recipe-item' }, el('span', { className: 'recipe-key', text: key }), el('span', { className: 'recipe-value', text: recipeValue(value) }))))
        : el('p', { className: 'muted', text: 'The sidecar has no recipe.' }),
    );
  }

  /** λ auto: the path summed over layers, the λ most layers chose marked, the direct merge's error for reference. */
  private lambdaPanel(): HTMLElement | null {
    const summary = lambdaSummary(this.layers, this.report.lambdaCurve);
    if (!summary) return null;
    const everyLayer = summary.chosenLayers === summary.layers;
    const chart = new LambdaCurveChart({
      title: 'Fidelity error and overlap along the λ path',
      caption: `Each of ${formatInteger(summary.layers)} layers was solved along the λ path and kept its own λ (docs/merge-method.md). Summed over them: total fidelity error (left axis, lower keeps each LoRA better) and residual overlap of the inputs' columns (right axis). Dashed: the direct merge's error.`,
      points: summary.points,
      chosen: summary.chosen,
      chosenLabel: everyLayer ? 'chosen' : `chosen in ${formatInteger(summary.chosenLayers)} of ${formatInteger(summary.layers)} layers`,
      directError: summary.directError,
    });
    return el('section', { className: 'panel lambda-panel' }, sectionHeading('λ trade-off (λ auto)', 'h3'), chart.element);
  }

  private chartsPanel(): HTMLElement {
    const modules = this.layers.map((l) => l.module);
    const common: Pick<LayerChartSpec, 'modules' | 'style' | 'onActivate'> = {
      modules,
      style: 'line',
      onActivate: (index) => this.open(modules[index], true),
    };
    const inputs = this.report.inputs.map((_, i) => i);
    const color = (i: number) => INPUT_COLORS[i % INPUT_COLORS.length];
    const shares = this.report.shares;
    const sparsity: LayerSeries[] = inputs.map((i) => ({ label: this.twoWay ? `${this.labels[i]} ${this.symbols[i]} sparse` : `${this.labels[i]} sparse`, values: inputValues(this.layers, i, (l) => l.sparsity), color: color(i) }));
    if (shares) sparsity.push({ label: 'zipped columns', values: this.layers.map((l) => shares[l.module]?.zipped ?? null), color: 'green', baseline: true });
    this.charts.push(
      new LayerChart({
        ...common,
        title: 'Coefficient sparsity',
        caption: `Lines: fraction of each ${this.twoWay ? 'layer’s' : 'input’s'} coefficients below ${this.threshold}.${shares ? ' Shaded: columns kept by exactly one LoRA (zipped).' : ''}`,
        series: sparsity,
        yAxisTitle: 'fraction',
        yMin: 0,
        yMax: 1,
        formatValue: formatPercent,
      }),
    );
    const overlap = this.pairs.length ? this.overlapSection(common) : null;
    const errors: LayerSeries[] = [
      ...inputs.map((i) => ({ label: `${this.labels[i]}, ZipLoRA`, values: inputValues(this.layers, i, (l) => l.errors), color: color(i) })),
      ...inputs.map((i) => ({ label: `${this.labels[i]}, direct`, values: inputValues(this.layers, i, (l) => l.directErrors), color: color(i), baseline: true })),
    ];
    const errorChart = new LayerChart({
      ...common,
      title: 'Relative error: ZipLoRA vs direct merge',
      caption: this.twoWay
        ? 'The fidelity terms of the objective, ‖(ΔW_merged − ΔW_c)·W_c‖² / ‖ΔW_c·W_c‖² and the same for style. Lines: ZipLoRA. Shaded: the direct (summed) merge.'
        : 'The fidelity term of each input i, ‖(ΔW_merged − ΔW_i)·W_i‖² / ‖ΔW_i·W_i‖². Lines: ZipLoRA. Shaded: the direct (summed) merge.',
      series: errors,
      yAxisTitle: 'relative error',
      yMin: 0,
      formatValue: (v) => formatValue(v, 3),
    });
    this.charts.push(errorChart);
    const perLayerLambda = this.layers.some((l) => l.lambdaCurve?.length)
      ? new LayerChart({
          ...common,
          style: 'bar',
          title: 'Chosen λ per layer',
          caption: 'λ auto: the λ each layer kept from its path. Layers merged at one λ (or copied) have none.',
          series: [{ label: 'chosen λ', values: this.layers.map((l) => (l.lambdaCurve?.length ? l.lambda : null)), color: 'yellow' }],
          yAxisTitle: 'λ',
          yMin: 0,
          formatValue: formatLambda,
        })
      : null;
    if (perLayerLambda) this.charts.push(perLayerLambda);
    return el('section', { className: 'panel charts' }, sectionHeading('Per layer', 'h3'), this.charts[0].element, overlap, errorChart.element, perLayerLambda?.element ?? null);
  }

  private overlapSeries(pair: readonly [number, number]): LayerSeries[] {
    return [
      { label: 'mean |cos| before', values: pairValues(this.layers, pair, (p) => p.meanAbsCosine), color: 'purple', baseline: true },
      { label: 'overlap before', values: pairValues(this.layers, pair, (p) => p.overlapBefore), color: 'red', baseline: true },
      { label: 'overlap after', values: pairValues(this.layers, pair, (p) => p.overlapAfter), color: 'green' },
    ];
  }

  private overlapTitle(pair: readonly [number, number]): string {
    return this.twoWay ? 'Column overlap: before vs after' : `Column overlap of ${this.pairLabel(pair)}: before vs after`;
  }

  /** The overlap chart of one pair; with three or more inputs the pairs' table and the picker above it. */
  private overlapSection(common: Pick<LayerChartSpec, 'modules' | 'style' | 'onActivate'>): HTMLElement {
    const first = this.pairs[0];
    const chart = new LayerChart({
      ...common,
      title: this.overlapTitle(first),
      caption: this.twoWay
        ? 'Shaded: mean |cos(c_j, s_j)| and overlap of the two LoRAs before merging. Line: overlap with the learned coefficients.'
        : 'Shaded: mean |cos| and overlap of the pair’s columns before merging. Line: overlap with the learned coefficients. Layers without both inputs are gaps.',
      series: this.overlapSeries(first),
      yAxisTitle: 'overlap',
      yMin: 0,
      formatValue: (v) => formatValue(v, 3),
    });
    this.charts.push(chart);
    if (this.twoWay || this.pairs.length < 2) return chart.element;
    const pick = (index: number) => {
      this.pairIndex = index;
      const pair = this.pairs[index];
      chart.setSeries(this.overlapSeries(pair), 'overlap');
      chart.element.querySelector('.chart-title')?.replaceChildren(this.overlapTitle(pair));
      this.drawScatter();
    };
    return el(
      'div',
      { className: 'pair-overlap' },
      el('h4', { className: 'subheading', text: 'Pairs of inputs' }),
      this.pairTable(),
      pairPicker(this.pairs.map((p) => this.pairLabel(p)), 0, pick, 'Pair of inputs shown in the overlap chart and the coefficient scatter'),
      chart.element,
    );
  }

  /** Every pair's means over the layers that have both inputs. */
  private pairTable(): HTMLElement {
    const row = (pair: readonly [number, number]) => {
      const cells = (pick: (p: { meanAbsCosine: number; overlapBefore: number; overlapAfter: number }) => number) => mean(pairValues(this.layers, pair, pick));
      const layers = pairValues(this.layers, pair, () => 1).filter((v) => v !== null).length;
      const heat = (value: number) => {
        const td = el('td', { className: 'heat num', text: formatValue(value, 3) });
        td.style.setProperty('--heat', String(Math.max(0, Math.min(1, value))));
        return td;
      };
      return el('tr', {}, el('th', { text: this.pairLabel(pair), attrs: { scope: 'row' } }), el('td', { className: 'num', text: formatInteger(layers) }), heat(cells((p) => p.meanAbsCosine)), heat(cells((p) => p.overlapBefore)), heat(cells((p) => p.overlapAfter)));
    };
    const heading = (text: string, numeric = true) => el('th', { className: numeric ? 'num' : undefined, text, attrs: { scope: 'col' } });
    return el(
      'table',
      { className: 'data-table pair-table' },
      el('thead', {}, el('tr', {}, heading('pair', false), heading('layers'), heading('mean |cos|'), heading('overlap before'), heading('overlap after'))),
      el('tbody', {}, ...this.pairs.map(row)),
    );
  }

  /** The layer's facts: today's rows for two inputs; per input and per pair rows for more. */
  private layerFacts(layer: LayerReport): (readonly [string, string | HTMLElement])[] {
    const at = (list: readonly number[], input: number) => list[layer.inputs.indexOf(input)];
    const lambdaRows = layer.lambdaCurve?.length ? [['λ (chosen)', formatLambda(layer.lambda)] as const] : [];
    const methodRows = layer.method === 'zip' ? [] : [['Method', layer.method === 'direct' ? 'direct merge (m = 1)' : `copied from ${this.labels[layer.inputs[0]] ?? 'its one input'}`] as const];
    const tail = [
      ['‖ΔW_merged‖ / ‖ΔW_direct‖', el('span', { className: layer.normRatio < COLLAPSE_RATIO ? 'warning-text' : undefined, text: formatValue(layer.normRatio) })],
      ['Steps', formatInteger(layer.steps)],
      ['Final loss', formatValue(layer.loss)],
    ] as const;
    const pair = layer.pairs[0];
    if (this.twoWay && pair && layer.inputs.length === 2) {
      const share = this.report.shares?.[layer.module];
      return [
        ['Block', blockOf(layer.module).name],
        ['Columns', formatInteger(layer.columns)],
        ...methodRows,
        ...lambdaRows,
        ['Content sparsity', formatPercent(at(layer.sparsity, 0))],
        ['Style sparsity', formatPercent(at(layer.sparsity, 1))],
        ...(share ? [['Zipped / both on / both off', `${formatPercent(share.zipped)} / ${formatPercent(share.bothOn)} / ${formatPercent(share.bothOff)}`] as const] : []),
        ['Mean |cos| before', formatValue(pair.meanAbsCosine)],
        ['Overlap before → after', `${formatValue(pair.overlapBefore)} → ${formatValue(pair.overlapAfter)}`],
        ['Content error (direct)', `${formatValue(at(layer.errors, 0))} (${formatValue(at(layer.directErrors, 0))})`],
        ['Style error (direct)', `${formatValue(at(layer.errors, 1))} (${formatValue(at(layer.directErrors, 1))})`],
        ...tail,
      ];
    }
    return [
      ['Block', blockOf(layer.module).name],
      ['Columns', formatInteger(layer.columns)],
      ...methodRows,
      ...lambdaRows,
      ...layer.inputs.map((input, k) => [
        `Input ${this.labels[input]}`,
        `weight ${formatValue(layer.weights[k], 3)} · sparsity ${formatPercent(layer.sparsity[k])} · error ${formatValue(layer.errors[k])} (direct ${formatValue(layer.directErrors[k])})`,
      ] as const),
      ...layer.pairs.map((p) => [`Pair ${this.pairLabel([p.a, p.b])}`, `|cos| ${formatValue(p.meanAbsCosine)} · overlap ${formatValue(p.overlapBefore)} → ${formatValue(p.overlapAfter)}`] as const),
      ...tail,
    ];
  }

  private open(module: string, reveal = false): void {
    const index = this.layers.findIndex((l) => l.module === module);
    if (index < 0) return;
    const layer = this.layers[index];
    this.selected = module;
    this.coefficients = null;
    for (const chart of this.charts) chart.setSelected(index);
    this.context.state.update({ zipLoraLayer: module });
    this.dropScatter();
    this.layerCurve?.destroy();
    this.layerCurve = layer.lambdaCurve?.length
      ? new LambdaCurveChart({
          title: 'This layer’s λ path',
          caption: 'Σ of the inputs’ fidelity errors and the residual overlap at each λ; dashed: the direct merge’s error.',
          points: [...layer.lambdaCurve].sort((a, b) => a.lambda - b.lambda),
          chosen: layer.lambda,
          chosenLabel: 'chosen',
          directError: sum(layer.directErrors),
          small: true,
        })
      : null;
    this.detail.hidden = false;
    const coefficients = layer.method === 'zip' ? spinner('Loading coefficients…') : el('p', { className: 'muted', text: layer.method === 'copy' ? 'Copied from its one input: no coefficients.' : 'Merged directly (m = 1): no coefficients.' });
    this.detail.replaceChildren(
      el('h3', { className: 'section-heading tensor-name', text: module }),
      el('div', { className: 'split split--detail' }, el('div', { className: 'scatter-slot' }, coefficients), definitionList(this.layerFacts(layer))),
      ...(this.layerCurve ? [this.layerCurve.element] : []),
    );
    // The detail sits under the charts: bring it into view when the user opened it from one.
    if (reveal) this.detail.scrollIntoView({ block: 'nearest' });
    if (layer.method === 'zip') this.context.post({ type: 'requestLayerCoefficients', module });
  }

  private dropScatter(): void {
    this.scatter?.destroy();
    this.scatter = null;
  }
}
