/** The look every chart shares: theme fonts and colours, hover boxes like VS Code's, no animation. */
import type { ChartOptions, ChartType } from 'chart.js';
import type { ChartPalette } from './palette.js';

export function sharedOptions(palette: ChartPalette): ChartOptions<ChartType> {
  return {
    responsive: true,
    maintainAspectRatio: false,
    // Redrawing 1,000 layers is instant; animating them is not, and motion adds nothing here.
    animation: false,
    font: { family: palette.fontFamily, size: palette.fontSize - 1 },
    color: palette.foreground,
    plugins: {
      legend: { labels: { color: palette.foreground, boxWidth: 18, boxHeight: 2, font: { family: palette.fontFamily } } },
      tooltip: {
        backgroundColor: palette.tooltipBackground,
        titleColor: palette.tooltipForeground,
        bodyColor: palette.tooltipForeground,
        footerColor: palette.tooltipForeground,
        borderColor: palette.tooltipBorder,
        borderWidth: 1,
        cornerRadius: 3,
        titleFont: { family: palette.fontFamily, weight: 'bold' },
        bodyFont: { family: palette.fontFamily },
        footerFont: { family: palette.fontFamily, weight: 'normal' },
        boxPadding: 3,
      },
    },
  } as ChartOptions<ChartType>;
}

export function axisStyle(palette: ChartPalette, title?: string) {
  return {
    ticks: { color: palette.muted, font: { family: palette.fontFamily } },
    grid: { color: palette.grid },
    border: { color: palette.grid },
    title: { display: title !== undefined, text: title ?? '', color: palette.muted, font: { family: palette.fontFamily } },
  };
}
