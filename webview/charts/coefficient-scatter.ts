/**
 * m_c against m_s, one point per column of a layer (both axes 0…1, widened only if a coefficient exceeds 1).
 * Dashed lines at the sparsity threshold split the plot: points along the axes are "zipped" columns (one
 * LoRA kept), the upper right holds columns both keep, the corner near 0 columns both dropped.
 */
import type { ChartConfiguration, Plugin } from 'chart.js';
import { el } from '../dom.js';
import { formatValue } from '../format.js';
import { axisStyle, sharedOptions } from './chart-style.js';
import { withAlpha, type ChartPalette } from './palette.js';
import { ThemedChart } from './theme-watch.js';

type Point = { x: number; y: number };

export class CoefficientScatter extends ThemedChart<'scatter', Point[]> {
  readonly element: HTMLElement;
  private readonly points: Point[];

  constructor(
    private readonly module: string,
    mContent: readonly number[],
    mStyle: readonly number[],
    private readonly threshold: number,
  ) {
    super();
    const n = Math.min(mContent.length, mStyle.length);
    this.points = Array.from({ length: n }, (_, j) => ({ x: mContent[j], y: mStyle[j] }));
    const canvas = el('canvas', { attrs: { role: 'img', 'aria-label': `Coefficients of ${module}: m_c (content) against m_s (style) for ${n} columns` } });
    this.element = el('div', { className: 'chart-canvas-box chart-canvas-box--square' }, canvas);
    this.start(canvas);
  }

  protected configuration(palette: ChartPalette): ChartConfiguration<'scatter', Point[]> {
    const base = sharedOptions(palette);
    const x = axisStyle(palette, 'm_c (content coefficient)');
    const y = axisStyle(palette, 'm_s (style coefficient)');
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
              label: (item) => `m_c ${formatValue(item.parsed.x)}, m_s ${formatValue(item.parsed.y)}`,
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
