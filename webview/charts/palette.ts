/**
 * Chart colours from the VS Code theme. Canvas cannot use CSS variables, so their current values are read
 * from the page (VS Code sets them on <html>), with Dark Modern's values where a theme leaves one unset.
 */
export type SeriesColor = 'blue' | 'red' | 'green' | 'orange' | 'purple' | 'yellow';

export interface ChartPalette {
  readonly foreground: string;
  readonly muted: string;
  readonly grid: string;
  /** Alternating block shades behind per-layer charts. */
  readonly bandEven: string;
  readonly bandOdd: string;
  readonly focus: string;
  readonly selection: string;
  readonly tooltipBackground: string;
  readonly tooltipForeground: string;
  readonly tooltipBorder: string;
  readonly fontFamily: string;
  readonly fontSize: number;
  readonly series: Readonly<Record<SeriesColor, string>>;
}

const FALLBACKS = {
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-editorHoverWidget-background': '#202020',
  '--vscode-editorHoverWidget-foreground': '#cccccc',
  '--vscode-editorHoverWidget-border': '#454545',
  '--vscode-font-family': 'system-ui, sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-charts-yellow': '#cca700',
} as const;

type ThemeVariable = keyof typeof FALLBACKS;

let probe: CanvasRenderingContext2D | null = null;

/** Any CSS colour as [r, g, b, a] (the canvas normalises it), or null when it is not a colour. */
function rgba(color: string): [number, number, number, number] | null {
  probe ??= document.createElement('canvas').getContext('2d');
  if (!probe) return null;
  probe.fillStyle = '#010203';
  probe.fillStyle = color;
  const normal = String(probe.fillStyle);
  if (normal === '#010203' && color.trim().toLowerCase() !== '#010203') return null;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(normal);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16), 1];
  const fn = /^rgba?\(([^)]+)\)$/.exec(normal);
  if (!fn) return null;
  const [r, g, b, a = '1'] = fn[1].split(',').map((s) => s.trim());
  return [Number(r), Number(g), Number(b), Number(a)];
}

/** The colour at a given opacity (multiplied with its own, for theme colours that carry alpha). */
export function withAlpha(color: string, alpha: number): string {
  const c = rgba(color);
  return c ? `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${+(c[3] * alpha).toFixed(3)})` : color;
}

export function readPalette(root: Element = document.body): ChartPalette {
  const style = getComputedStyle(root);
  const read = (name: ThemeVariable): string => {
    const value = style.getPropertyValue(name).trim();
    return value && (name === '--vscode-font-family' || name === '--vscode-font-size' || rgba(value)) ? value : FALLBACKS[name];
  };
  const foreground = read('--vscode-foreground');
  const focus = read('--vscode-focusBorder');
  return {
    foreground,
    muted: read('--vscode-descriptionForeground'),
    grid: withAlpha(foreground, 0.15),
    bandEven: withAlpha(foreground, 0.035),
    bandOdd: withAlpha(foreground, 0.1),
    focus,
    selection: withAlpha(focus, 0.3),
    tooltipBackground: read('--vscode-editorHoverWidget-background'),
    tooltipForeground: read('--vscode-editorHoverWidget-foreground'),
    tooltipBorder: read('--vscode-editorHoverWidget-border'),
    fontFamily: read('--vscode-font-family'),
    fontSize: Number.parseFloat(read('--vscode-font-size')) || 13,
    series: {
      blue: read('--vscode-charts-blue'),
      red: read('--vscode-charts-red'),
      green: read('--vscode-charts-green'),
      orange: read('--vscode-charts-orange'),
      purple: read('--vscode-charts-purple'),
      yellow: read('--vscode-charts-yellow'),
    },
  };
}
