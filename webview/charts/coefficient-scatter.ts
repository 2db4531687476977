/**
 * One input's coefficients against another's (m_c against m_s with two inputs), one point per column of a layer
 * (both axes 0…1, widened only if a coefficient exceeds 1). Dashed lines at the sparsity threshold split the
 * plot: points along the axes are "zipped" columns (one LoRA kept), the upper right holds columns both keep,
 * the corner near 0 columns both dropped.
 */
import type { ChartConfiguration, Plugin } from 'chart.js';
import { el } from '../dom.js';
import { formatValue } from '../format.js';
import { axisStyle, sharedOptions } from './chart-style.js';
import { withAlpha, type ChartPalette } from './palette.js';
import { ThemedChart } from './theme-watch.js';

type Point = { x: number; y: number };

export interface AxisName {
  readonly symbol: string;
  readonly name: string;
}

export class CoefficientScatter extends ThemedChart<'scatter', Point[]> {
  readonly element: HTMLElement;
  private readonly points: Point[];

  /** Axis names: symbol and meaning, e.g. { symbol: 'm_c', name: 'content' }. */
  constructor(
    private readonly module: string,
    xValues: readonly number[],
    yValues: readonly number[],
    private readonly threshold: number,
    private readonly axes: { readonly x: AxisName; readonly y: AxisName } = { x: { symbol: 'm_c', name: 'content' }, y: { symbol: 'm_s', name: 'style' } },
  ) {
    super();
    const n = Math.min(xValues.length, yValues.length);
    this.points = Array.from({ length: n }, (_, j) => ({ x: xValues[j], y: yValues[j] }));
    const canvas = el('canvas', { attrs: { role: 'img', 'aria-label': `Coefficients of ${module}: ${axes.x.symbol} (${axes.x.name}) against ${axes.y.symbol} (${axes.y.name}) for ${n} columns` } });
    this.element = el('div', { className: 'chart-canvas-box chart-canvas-box--square' }, canvas);
    this.start(canvas);
  }

  protected configuration(palette: ChartPalette): ChartConfiguration<'scatter', Point[]> {
    const base = sharedOptions(palette);
    const x = axisStyle(palette, `${this.axes.x.symbol} (${this.axes.x.name} coefficient)`);
    const y = axisStyle(palette, `${this.axes.y.symbol} (${this.axes.y.name} coefficient)`);
    const largest = this.points.reduce((m, p) => Math.max(m, p.x, p.y), 1);
    const max = largest > 1 ? Math.ceil(largest * 10) / 10 : 1;
    return {
      type: 'scatter',
      data: {
        datasets: [{
          label: this.module,
          data: this.points,
          backgroundColor: withAlpha(palette.series.purple, 0.55),
          borderColor: palette.series.purple,
          borderWidth: 0,
          pointRadius: this.points.length > 2000 ? 1.5 : 2.5,
          pointHoverRadius: 5,
        }],
      },
      options: {
        ...(base as object),
        aspectRatio: 1,
        scales: { x: { ...x, type: 'linear', min: 0, max }, y: { ...y, type: 'linear', min: 0, max } },
        plugins: {
          ...base.plugins,
          legend: { display: false },
          tooltip: {
            ...base.plugins?.tooltip,
            callbacks: {
              title: (items) => (items.length ? `column ${items[0].dataIndex}` : ''),
              label: (item) => `${this.axes.x.symbol} ${formatValue(item.parsed.x)}, ${this.axes.y.symbol} ${formatValue(item.parsed.y)}`,
            },
          },
        },
      },
      plugins: [this.thresholdPlugin(palette)],
    } as ChartConfiguration<'scatter', Point[]>;
  }

  private thresholdPlugin(palette: ChartPalette): Plugin<'scatter'> {
    return {
      id: 'sparsityThreshold',
      beforeDatasetsDraw: (chart) => {
        const { ctx, chartArea, scales } = chart;
        const x = scales.x.getPixelForValue(this.threshold);
        const y = scales.y.getPixelForValue(this.threshold);
        ctx.save();
        ctx.strokeStyle = palette.muted;
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x, chartArea.top);
        ctx.lineTo(x, chartArea.bottom);
        ctx.moveTo(chartArea.left, y);
        ctx.lineTo(chartArea.right, y);
        ctx.stroke();
        ctx.restore();
      },
    };
  }
}
