/**
 * A per-layer chart: one bar or line per layer, in network order, blocks shaded and labelled under the axis.
 * Hovering shows the layer's module name; a click, or Enter on the keyboard cursor (←/→ move it, PageUp/
 * PageDown jump by block, Home/End), activates the layer. Stays fast with thousands of layers: no animation,
 * no per-point markers, and index-based hit testing.
 */
import type { ChartConfiguration, Plugin } from 'chart.js';
import { el, liveRegion } from '../dom.js';
import { blockLabels, blockSpans, type BlockSpan } from '../core-modules.js';
import { axisStyle, sharedOptions } from './chart-style.js';
import type { ChartPalette, SeriesColor } from './palette.js';
import { withAlpha } from './palette.js';
import { currentPalette, ThemedChart } from './theme-watch.js';

export interface LayerSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: SeriesColor;
  /**
   * A baseline to compare with (before merging, the direct merge): drawn as translucent bars behind the
   * lines, which stays legible at 1,000 layers where dashed lines turn into noise.
   */
  readonly baseline?: boolean;
}

export interface LayerChartSpec {
  readonly title: string;
  /** One line under the title: what is plotted and how to read it. */
  readonly caption: string;
  readonly modules: readonly string[];
  readonly series: readonly LayerSeries[];
  readonly style: 'bar' | 'line';
  readonly yAxisTitle: string;
  readonly yMin?: number;
  readonly yMax?: number;
  readonly formatValue: (value: number) => string;
  readonly onActivate: (index: number) => void;
}

const BLOCK_LABEL_HEIGHT = 18;

type LayerChartType = 'bar' | 'line';

export class LayerChart extends ThemedChart<LayerChartType, (number | null)[], string> {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly announcer: HTMLElement;
  private readonly spans: BlockSpan[];
  private series: readonly LayerSeries[];
  private yAxisTitle: string;
  /** Layer shown as opened (its detail is on screen). */
  private selected: number | null = null;
  /** Layer the keyboard is on. */
  private cursor: number | null = null;

  constructor(private readonly spec: LayerChartSpec) {
    super();
    this.series = spec.series;
    this.yAxisTitle = spec.yAxisTitle;
    this.spans = blockSpans(spec.modules);
    this.canvas = el('canvas', {
      attrs: {
        tabindex: 0,
        role: 'img',
        'aria-label': `${spec.title}: ${spec.modules.length} layers in ${this.spans.length} blocks. Arrow keys move between layers, Page Up and Page Down between blocks, Enter opens a layer.`,
      },
    });
    this.announcer = liveRegion();
    this.element = el(
      'figure',
      { className: 'layer-chart' },
      el('figcaption', {}, el('span', { className: 'chart-title', text: spec.title }), el('span', { className: 'chart-caption', text: spec.caption })),
      el('div', { className: 'chart-canvas-box' }, this.canvas),
      this.announcer,
    );
    this.start(this.canvas);
    this.canvas.addEventListener('keydown', (event) => this.onKey(event));
    this.canvas.addEventListener('blur', () => this.chart.draw());
    this.canvas.addEventListener('focus', () => this.chart.draw());
  }

  get layerCount(): number {
    return this.spec.modules.length;
  }

  setSeries(series: readonly LayerSeries[], yAxisTitle: string): void {
    this.series = series;
    this.yAxisTitle = yAxisTitle;
    this.applyPalette(currentPalette());
  }

  /** Marks a layer as opened (from a click here or a selection elsewhere, e.g. a table). */
  setSelected(index: number | null): void {
    this.selected = index;
    if (index !== null) this.cursor = index;
    this.chart.draw();
  }

  protected configuration(palette: ChartPalette): ChartConfiguration<LayerChartType, (number | null)[], string> {
    const { spec } = this;
    const base = sharedOptions(palette);
    const y = axisStyle(palette, this.yAxisTitle);
    return {
      type: spec.style,
      data: { labels: [...spec.modules], datasets: this.datasets(palette) },
      options: {
        ...(base as object),
        layout: { padding: { bottom: BLOCK_LABEL_HEIGHT, right: 4 } },
        interaction: { mode: 'index', intersect: false, axis: 'x' },
        scales: {
          x: { type: 'category', offset: true, ticks: { display: false }, grid: { display: false }, border: { color: palette.grid } },
          y: { ...y, min: spec.yMin, max: spec.yMax, beginAtZero: true, ticks: { ...y.ticks, maxTicksLimit: 6, callback: (value: string | number) => spec.formatValue(Number(value)) } },
        },
        plugins: {
          ...base.plugins,
          legend: { ...base.plugins?.legend, display: this.series.length > 1, position: 'top', align: 'end' },
          tooltip: {
            ...base.plugins?.tooltip,
            callbacks: {
              title: (items) => (items.length ? spec.modules[items[0].dataIndex] : ''),
              beforeBody: (items) => (items.length ? `block ${this.blockAt(items[0].dataIndex)?.block.name ?? '?'} · layer ${items[0].dataIndex + 1} of ${spec.modules.length}` : ''),
              label: (item) => `${item.dataset.label}: ${item.parsed.y === null ? '—' : spec.formatValue(item.parsed.y)}`,
              footer: () => 'Click to open this layer',
            },
          },
        },
        onClick: (event) => {
          const index = this.indexAtPixel(event.x);
          if (index !== null) this.activate(index);
        },
      },
      plugins: [this.blockBandsPlugin(palette), this.selectionPlugin(palette)],
    } as ChartConfiguration<LayerChartType, (number | null)[], string>;
  }

  /** One dataset a series: bars, or a stepped line over baseline bars (one step a layer). */
  private datasets(palette: ChartPalette): ChartConfiguration<LayerChartType, (number | null)[], string>['data']['datasets'] {
    const line = this.spec.style === 'line';
    return this.series.map((s) => {
      const color = palette.series[s.color];
      const asBar = !line || s.baseline;
      return {
        type: asBar ? 'bar' : 'line',
        label: s.label,
        data: [...s.values],
        borderColor: color,
        backgroundColor: !asBar ? color : withAlpha(color, line ? 0.3 : 0.85),
        borderWidth: asBar ? 0 : 1.25,
        // Baseline bars overlap rather than sit side by side (each would be a fraction of a pixel wide).
        grouped: false,
        order: asBar ? 1 : 0,
        pointRadius: 0,
        pointHoverRadius: line ? 3 : 0,
        pointHitRadius: 0,
        // Each layer is one step: at 1,000 layers a line with steps reads like bars, without bars' gaps.
        stepped: line ? 'middle' : false,
        spanGaps: false,
        barPercentage: 1,
        categoryPercentage: 1,
        minBarLength: 1,
      };
    }) as ChartConfiguration<LayerChartType, (number | null)[], string>['data']['datasets'];
  }

  private indexAtPixel(x: number | null): number | null {
    const area = this.chart.chartArea;
    if (x === null || x < area.left || x > area.right) return null;
    const value = this.chart.scales.x.getValueForPixel(x);
    if (value === undefined) return null;
    return Math.max(0, Math.min(this.layerCount - 1, Math.round(value)));
  }

  private layerBounds(index: number): [number, number] {
    const x = this.chart.scales.x;
    const half = this.layerCount > 1 ? Math.abs(x.getPixelForValue(1) - x.getPixelForValue(0)) / 2 : this.chart.chartArea.width / 2;
    const center = x.getPixelForValue(index);
    return [center - half, center + half];
  }

  private blockAt(index: number): BlockSpan | undefined {
    return this.spans.find((s) => index >= s.start && index <= s.end);
  }

  private blockBandsPlugin(palette: ChartPalette): Plugin<LayerChartType> {
    return {
      id: 'blockBands',
      beforeDatasetsDraw: (chart) => {
        const { ctx, chartArea } = chart;
        ctx.save();
        ctx.font = `${palette.fontSize - 2}px ${palette.fontFamily}`;
        ctx.textBaseline = 'top';
        const placed = this.spans.map((span) => ({ span, left: this.layerBounds(span.start)[0], right: this.layerBounds(span.end)[1] }));
        placed.forEach(({ left, right }, i) => {
          ctx.fillStyle = i % 2 === 0 ? palette.bandEven : palette.bandOdd;
          ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top + BLOCK_LABEL_HEIGHT);
        });
        ctx.fillStyle = palette.muted;
        for (const label of blockLabels(placed, (text) => ctx.measureText(text).width)) {
          ctx.textAlign = label.align;
          ctx.fillText(label.text, label.x, chartArea.bottom + 4);
        }
        ctx.restore();
      },
    };
  }

  private selectionPlugin(palette: ChartPalette): Plugin<LayerChartType> {
    return {
      id: 'layerSelection',
      afterDatasetsDraw: (chart) => {
        const { ctx, chartArea } = chart;
        const height = chartArea.bottom - chartArea.top;
        ctx.save();
        if (this.selected !== null && this.selected < this.layerCount) {
          const [left, right] = this.layerBounds(this.selected);
          const width = Math.max(3, right - left);
          ctx.fillStyle = palette.selection;
          ctx.fillRect((left + right - width) / 2, chartArea.top, width, height);
        }
        if (this.cursor !== null && document.activeElement === this.canvas) {
          const [left, right] = this.layerBounds(this.cursor);
          const width = Math.max(3, right - left);
          ctx.strokeStyle = palette.focus;
          ctx.lineWidth = 1;
          ctx.strokeRect((left + right - width) / 2 + 0.5, chartArea.top + 0.5, width - 1, height - 1);
        }
        ctx.restore();
      },
    };
  }

  private activate(index: number): void {
    this.cursor = index;
    this.setSelected(index);
    this.spec.onActivate(index);
  }

  private moveCursor(index: number): void {
    const clamped = Math.max(0, Math.min(this.layerCount - 1, index));
    this.cursor = clamped;
    const x = this.chart.scales.x.getPixelForValue(clamped);
    const active = this.chart.data.datasets.map((_, datasetIndex) => ({ datasetIndex, index: clamped }));
    this.chart.tooltip?.setActiveElements(active, { x, y: (this.chart.chartArea.top + this.chart.chartArea.bottom) / 2 });
    this.chart.setActiveElements(active);
    this.chart.update('none');
    const values = this.series.map((s) => `${s.label} ${s.values[clamped] === null ? 'none' : this.spec.formatValue(s.values[clamped]!)}`).join(', ');
    this.announcer.textContent = `${this.spec.modules[clamped]}: ${values}`;
  }

  private onKey(event: KeyboardEvent): void {
    if (this.layerCount === 0) return;
    const cursor = this.cursor ?? -1;
    const span = this.blockAt(Math.max(0, cursor));
    switch (event.key) {
      case 'ArrowRight':
        this.moveCursor(cursor + 1);
        break;
      case 'ArrowLeft':
        this.moveCursor(cursor < 0 ? 0 : cursor - 1);
        break;
      case 'PageDown':
        this.moveCursor(span ? span.end + 1 : 0);
        break;
      case 'PageUp': {
        const previous = span && cursor > span.start ? span : this.blockAt(Math.max(0, (span?.start ?? 0) - 1));
        this.moveCursor(previous?.start ?? 0);
        break;
      }
      case 'Home':
        this.moveCursor(0);
        break;
      case 'End':
        this.moveCursor(this.layerCount - 1);
        break;
      case 'Enter':
      case ' ':
        if (this.cursor !== null) this.activate(this.cursor);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
