/**
 * Which block labels a per-layer chart draws under its axis, and where. Blocks too narrow for any of their labels
 * (Flux's 38 single-stream blocks at one layer each) are labelled as ticks: within a run of blocks of one container,
 * every k-th block, k the smallest of 1, 2, 5, 10, 20, … at which every labelled block's text fits in its k blocks.
 * Pure (the text width is measured by the caller), so it is tested without a canvas.
 */
import type { BlockSpan } from '../lora/network-blocks';

export interface PlacedSpan {
  readonly span: BlockSpan;
  /** Pixel bounds of the block's band. */
  readonly left: number;
  readonly right: number;
}

export interface BlockLabel {
  readonly text: string;
  readonly x: number;
  readonly align: 'center' | 'left';
}

/** Room kept free between neighbouring labels, in pixels. */
const GAP = 4;

const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

function firstFitting(span: BlockSpan, width: number, measure: (text: string) => number): string | undefined {
  return [span.block.name, ...span.block.shortLabels].find((text) => measure(text) <= width);
}

/** Labels for one run of blocks of the same container (or one block outside any). */
function runLabels(run: readonly PlacedSpan[], measure: (text: string) => number): BlockLabel[] {
  const own = run.map((p) => firstFitting(p.span, p.right - p.left - GAP, measure));
  if (own.every((text) => text !== undefined)) return run.map((p, i) => ({ text: own[i]!, x: (p.left + p.right) / 2, align: 'center' }));
  for (const k of STEPS.filter((step) => step > 1 && step < run.length)) {
    const labels: BlockLabel[] = [];
    for (let i = 0; i < run.length; i += k) {
      const right = run[Math.min(i + k, run.length) - 1].right;
      const text = firstFitting(run[i].span, right - run[i].left - GAP, measure);
      if (text === undefined) break;
      labels.push({ text, x: run[i].left + GAP / 2, align: 'left' });
    }
    if (labels.length === Math.ceil(run.length / k)) return labels;
  }
  return [];
}

export function blockLabels(placed: readonly PlacedSpan[], measure: (text: string) => number): BlockLabel[] {
  const labels: BlockLabel[] = [];
  let start = 0;
  for (let i = 1; i <= placed.length; i++) {
    const group = placed[start].span.block.group;
    if (i < placed.length && group !== undefined && placed[i].span.block.group === group) continue;
    labels.push(...runLabels(placed.slice(start, i), measure));
    start = i;
  }
  return labels;
}
