/**
 * Re-colours every live chart when VS Code switches theme: it swaps the body's vscode-light / vscode-dark /
 * vscode-high-contrast class and rewrites the --vscode-* variables on <html>.
 */
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
