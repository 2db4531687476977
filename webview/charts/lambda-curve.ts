/**
 * The λ trade-off of `--lambda auto` (docs/merge-method.md): along the λ path, the merge's total fidelity error
 * (left axis) and its residual overlap (right axis), the direct merge's error as a dashed reference, and the
 * chosen λ marked by a band and enlarged points. λ values are evenly spaced (the path is a handful of values
 * from 0, which a log axis cannot place). ←/→, Home and End move a keyboard cursor over the points; each
 * point's values are announced and shown in the tooltip.
 */
import type { ChartConfiguration, Plugin } from 'chart.js';
import type { LambdaPoint } from '../../src/shared/webview-protocol.js';
import { el, liveRegion } from '../dom.js';
import { formatValue } from '../format.js';
import { axisStyle, sharedOptions } from './chart-style.js';
import { withAlpha, type ChartPalette } from './palette.js';
import { ThemedChart } from './theme-watch.js';

export interface LambdaCurveSpec {
  readonly title: string;
  /** One line under the title: what is plotted and how to read it. */
  readonly caption: string;
  /** The path, in increasing λ. */
  readonly points: readonly LambdaPoint[];
  /** The λ the merge chose (a value on the path), or null when no one λ was chosen. */
  readonly chosen: number | null;
  /** Said next to the mark: "chosen", or "chosen in 812 of 986 layers". */
  readonly chosenLabel: string;
  /** The direct merge's total error on the same scale, drawn as a dashed line (the bound the rule keeps under). */
  readonly directError?: number;
  /** A shorter chart (a layer's own path in its detail). */
  readonly small?: boolean;
}

type CurveType = 'line';

export function formatLambda(lambda: number): string {
  return String(+lambda.toPrecision(4));
}

export class LambdaCurveChart extends ThemedChart<CurveType, (number | null)[], string> {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly announcer: HTMLElement;
  private cursor: number | null = null;
  private readonly chosenIndex: number;

  constructor(private readonly spec: LambdaCurveSpec) {
    super();
    this.chosenIndex = spec.chosen === null ? -1 : spec.points.findIndex((p) => p.lambda === spec.chosen);
    const chosenText = this.chosenIndex >= 0 ? ` ${spec.chosenLabel}: λ ${formatLambda(spec.chosen!)}.` : '';
    this.canvas = el('canvas', {
      attrs: {
        tabindex: 0,
        role: 'img',
        'aria-label': `${spec.title}: total fidelity error and residual overlap at ${spec.points.length} values of λ.${chosenText} Left and right arrow keys move between the values.`,
      },
    });
    this.announcer = liveRegion();
    this.element = el(
      'figure',
      { className: 'layer-chart lambda-curve' },
      el('figcaption', {}, el('span', { className: 'chart-title', text: spec.title }), el('span', { className: 'chart-caption', text: spec.caption })),
      el('div', { className: spec.small ? 'chart-canvas-box chart-canvas-box--small' : 'chart-canvas-box' }, this.canvas),
      this.announcer,
    );
    this.start(this.canvas);
    this.canvas.addEventListener('keydown', (event) => this.onKey(event));
    this.canvas.addEventListener('blur', () => this.chart.draw());
  }

  protected configuration(palette: ChartPalette): ChartConfiguration<CurveType, (number | null)[], string> {
    const { spec } = this;
    const base = sharedOptions(palette);
    const error = palette.series.blue;
    const overlap = palette.series.green;
    // The chosen point stands out on both lines: larger, ringed in the foreground colour.
    const radius = spec.points.map((_, i) => (i === this.chosenIndex ? 7 : 3.5));
    const ring = spec.points.map((_, i) => (i === this.chosenIndex ? palette.foreground : 'transparent'));
    const y = axisStyle(palette, 'total fidelity error');
    const y1 = axisStyle(palette, 'residual overlap');
    const datasets = [
      { label: 'fidelity error (Σ inputs)', data: spec.points.map((p) => p.error), borderColor: error, backgroundColor: error, pointRadius: radius, pointBorderColor: ring, pointBorderWidth: 2, pointHoverRadius: 8, borderWidth: 2, yAxisID: 'y' },
      { label: 'residual overlap', data: spec.points.map((p) => p.overlap), borderColor: overlap, backgroundColor: overlap, pointRadius: radius, pointBorderColor: ring, pointBorderWidth: 2, pointHoverRadius: 8, borderWidth: 2, yAxisID: 'y1', pointStyle: 'rectRot' as const },
      ...(spec.directError === undefined
        ? []
        : [{ label: 'direct merge error', data: spec.points.map(() => spec.directError!), borderColor: palette.series.red, backgroundColor: palette.series.red, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, yAxisID: 'y' }]),
    ];
    return {
      type: 'line',
      data: { labels: spec.points.map((p) => formatLambda(p.lambda)), datasets },
      options: {
        ...(base as object),
        interaction: { mode: 'index', intersect: false, axis: 'x' },
        scales: {
          x: { ...axisStyle(palette, 'λ'), offset: true, grid: { display: false } },
          y: { ...y, position: 'left', beginAtZero: true, ticks: { ...y.ticks, maxTicksLimit: 5, color: error, callback: (v: string | number) => formatValue(Number(v), 3) } },
          y1: { ...y1, position: 'right', beginAtZero: true, grid: { display: false }, ticks: { ...y1.ticks, maxTicksLimit: 5, color: overlap, callback: (v: string | number) => formatValue(Number(v), 3) } },
        },
        plugins: {
          ...base.plugins,
          legend: { ...base.plugins?.legend, display: true, position: 'top', align: 'end' },
          tooltip: {
            ...base.plugins?.tooltip,
            callbacks: {
              title: (items) => (items.length ? `λ ${items[0].label}${items[0].dataIndex === this.chosenIndex ? ` — ${spec.chosenLabel}` : ''}` : ''),
              label: (item) => `${item.dataset.label}: ${item.parsed.y === null ? '—' : formatValue(item.parsed.y, 4)}`,
            },
          },
        },
      },
      plugins: [this.chosenPlugin(palette)],
    } as ChartConfiguration<CurveType, (number | null)[], string>;
  }

  /** A band behind the chosen λ with its label at the top, and the keyboard cursor's outline. */
  private chosenPlugin(palette: ChartPalette): Plugin<CurveType> {
    const bandAt = (index: number): [number, number] => {
      const x = this.chart.scales.x;
      const step = this.spec.points.length > 1 ? Math.abs(x.getPixelForValue(1) - x.getPixelForValue(0)) : this.chart.chartArea.width;
      const center = x.getPixelForValue(index);
      return [center - step * 0.3, center + step * 0.3];
    };
    return {
      id: 'chosenLambda',
      beforeDatasetsDraw: (chart) => {
        if (this.chosenIndex < 0) return;
        const { ctx, chartArea } = chart;
        const [left, right] = bandAt(this.chosenIndex);
        ctx.save();
        ctx.fillStyle = withAlpha(palette.focus, 0.18);
        ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top);
        ctx.fillStyle = palette.foreground;
        ctx.font = `${palette.fontSize - 2}px ${palette.fontFamily}`;
        ctx.textAlign = 'center';
        ctx.textBaseline = 'top';
        ctx.fillText(`${this.spec.chosenLabel}: λ ${formatLambda(this.spec.chosen!)}`, (left + right) / 2, chartArea.top + 3);
        ctx.restore();
      },
      afterDatasetsDraw: (chart) => {
        if (this.cursor === null || document.activeElement !== this.canvas) return;
        const { ctx, chartArea } = chart;
        const [left, right] = bandAt(this.cursor);
        ctx.save();
        ctx.strokeStyle = palette.focus;
        ctx.lineWidth = 1;
        ctx.strokeRect(left + 0.5, chartArea.top + 0.5, right - left - 1, chartArea.bottom - chartArea.top - 1);
        ctx.restore();
      },
    };
  }

  private moveCursor(index: number): void {
    const clamped = Math.max(0, Math.min(this.spec.points.length - 1, index));
    this.cursor = clamped;
    const x = this.chart.scales.x.getPixelForValue(clamped);
    const active = this.chart.data.datasets.map((_, datasetIndex) => ({ datasetIndex, index: clamped }));
    this.chart.tooltip?.setActiveElements(active, { x, y: (this.chart.chartArea.top + this.chart.chartArea.bottom) / 2 });
    this.chart.setActiveElements(active);
    this.chart.update('none');
    const point = this.spec.points[clamped];
    const chosen = clamped === this.chosenIndex ? ` (${this.spec.chosenLabel})` : '';
    this.announcer.textContent = `λ ${formatLambda(point.lambda)}${chosen}: fidelity error ${formatValue(point.error, 4)}, residual overlap ${formatValue(point.overlap, 4)}`;
  }

  private onKey(event: KeyboardEvent): void {
    const count = this.spec.points.length;
    if (!count) return;
    const cursor = this.cursor ?? (this.chosenIndex >= 0 ? this.chosenIndex : -1);
    switch (event.key) {
      case 'ArrowRight':
        this.moveCursor(this.cursor === null && cursor >= 0 ? cursor : cursor + 1);
        break;
      case 'ArrowLeft':
        this.moveCursor(this.cursor === null && cursor >= 0 ? cursor : Math.max(0, cursor - 1));
        break;
      case 'Home':
        this.moveCursor(0);
        break;
      case 'End':
        this.moveCursor(count - 1);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
