/** A plain bar chart of one series (a histogram's bins, a layer's singular values), optionally on a log axis. */
import type { ChartConfiguration } from 'chart.js';
import { el } from '../dom.js';
import { axisStyle, sharedOptions } from './chart-style.js';
import { withAlpha, type ChartPalette, type SeriesColor } from './palette.js';
import { currentPalette, ThemedChart } from './theme-watch.js';

export interface SimpleBarSpec {
  readonly ariaLabel: string;
  readonly values: readonly number[];
  readonly color: SeriesColor;
  readonly xAxisTitle: string;
  readonly yAxisTitle: string;
  /** Tick label under bar i (null: no tick). */
  readonly tickLabel: (index: number) => string | null;
  readonly tooltipTitle: (index: number) => string;
  readonly tooltipValue: (value: number) => string;
  readonly logarithmic?: boolean;
}

export class SimpleBarChart extends ThemedChart<'bar', number[], string> {
  readonly element: HTMLElement;

  constructor(private spec: SimpleBarSpec) {
    super();
    const canvas = el('canvas', { attrs: { role: 'img', 'aria-label': spec.ariaLabel } });
    this.element = el('div', { className: 'chart-canvas-box chart-canvas-box--small' }, canvas);
    this.start(canvas);
  }

  setLogarithmic(logarithmic: boolean): void {
    this.spec = { ...this.spec, logarithmic };
    this.applyPalette(currentPalette());
  }

  protected configuration(palette: ChartPalette): ChartConfiguration<'bar', number[], string> {
    const { spec } = this;
    const base = sharedOptions(palette);
    const x = axisStyle(palette, spec.xAxisTitle);
    const y = axisStyle(palette, spec.yAxisTitle);
    return {
      type: 'bar',
      data: {
        labels: spec.values.map((_, i) => spec.tickLabel(i) ?? ''),
        datasets: [{ data: [...spec.values], backgroundColor: withAlpha(palette.series[spec.color], 0.85), barPercentage: 1, categoryPercentage: 1 }],
      },
      options: {
        ...(base as object),
        interaction: { mode: 'index', intersect: false, axis: 'x' },
        scales: {
          x: { ...x, grid: { display: false }, ticks: { ...x.ticks, autoSkip: true, maxRotation: 0, callback: (_v: string | number, i: number) => spec.tickLabel(i) } },
          // On a log axis empty bins are left out (log 0 is undefined) rather than drawn at the floor.
          y: { ...y, type: spec.logarithmic ? 'logarithmic' : 'linear', beginAtZero: !spec.logarithmic, ticks: { ...y.ticks, maxTicksLimit: 5 } },
        },
        plugins: {
          ...base.plugins,
          legend: { display: false },
          tooltip: { ...base.plugins?.tooltip, callbacks: { title: (items) => (items.length ? spec.tooltipTitle(items[0].dataIndex) : ''), label: (item) => spec.tooltipValue(item.parsed.y ?? 0) } },
        },
      },
    } as ChartConfiguration<'bar', number[], string>;
  }
}
