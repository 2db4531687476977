/**
 * Re-colours every live chart when VS Code switches theme: it swaps the body's vscode-light / vscode-dark /
 * vscode-high-contrast class and rewrites the --vscode-* variables on <html>.
 */
import type { ChartConfiguration, ChartType, DefaultDataPoint } from 'chart.js';
import { Chart } from './chart-setup.js';
import { readPalette, type ChartPalette } from './palette.js';

export interface Themed {
  applyPalette(palette: ChartPalette): void;
}

const themed = new Set<Themed>();
let palette: ChartPalette | null = null;
let observer: MutationObserver | null = null;

export function currentPalette(): ChartPalette {
  palette ??= readPalette();
  return palette;
}

function refresh(): void {
  palette = readPalette();
  for (const item of themed) item.applyPalette(palette);
}

/** Keeps `item` in the theme's colours until the returned function is called. */
export function followTheme(item: Themed): () => void {
  if (!observer) {
    observer = new MutationObserver(refresh);
    observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'style'] });
  }
  themed.add(item);
  return () => themed.delete(item);
}

/**
 * A chart that follows the theme: its configuration is rebuilt from the palette on every theme change.
 * Subclasses build their canvas, then call `start`.
 */
export abstract class ThemedChart<TType extends ChartType, TData = DefaultDataPoint<TType>, TLabel = unknown> implements Themed {
  protected chart!: Chart<TType, TData, TLabel>;
  private stopFollowingTheme: () => void = () => undefined;

  protected abstract configuration(palette: ChartPalette): ChartConfiguration<TType, TData, TLabel>;

  protected start(canvas: HTMLCanvasElement): void {
    this.chart = new Chart(canvas, this.configuration(currentPalette()));
    this.stopFollowingTheme = followTheme(this);
  }

  applyPalette(palette: ChartPalette): void {
    const config = this.configuration(palette);
    this.chart.data = config.data;
    this.chart.options = config.options!;
    this.chart.update('none');
  }

  destroy(): void {
    this.stopFollowingTheme();
    this.chart.destroy();
  }
}
