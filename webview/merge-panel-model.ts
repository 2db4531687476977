/**
 * The merge panel's edits as pure functions on its settings (no DOM): what a block row shows, and the block rules
 * after a change. The panel writes one rule per block it changed, named exactly as the block (block-rules.ts
 * matches a name as itself), and drops a rule once the block is back at the default, so a saved recipe lists
 * only what the user chose.
 */
import type { MergePanelSettings, PanelBlockMethod } from '../src/shared/merge-panel-protocol.js';

/** What a block does when no rule names it: ZipLoRA merges solve every block, direct merges sum them. */
export function defaultBlockMethod(settings: Pick<MergePanelSettings, 'method'>): PanelBlockMethod {
  return settings.method === 'ziplora' ? 'zip' : 'direct';
}

/** An input's name in the panel: the two-file wording (content, style) for two inputs, else its number (request.ts' inputLabel). */
export function inputLabel(index: number, count: number): string {
  if (count === 2) return index === 0 ? 'content' : 'style';
  return `input ${index + 1}`;
}

export interface BlockRow {
  /** One per input: the block weight (1 when no rule sets it). */
  readonly weights: readonly number[];
  readonly method: PanelBlockMethod;
  /** Whether a rule names this block (the row differs from the default). */
  readonly custom: boolean;
}

export function blockRow(settings: MergePanelSettings, block: string): BlockRow {
  const rule = settings.blocks.find((r) => r.block === block);
  return {
    weights: settings.inputs.map((_, i) => rule?.weights?.[i] ?? 1),
    method: rule?.method ?? defaultBlockMethod(settings),
    custom: rule !== undefined,
  };
}

/** The settings with block `block` set to `row`; the block's rule is left out when the row is the default. */
export function withBlockRow(settings: MergePanelSettings, block: string, row: Pick<BlockRow, 'weights' | 'method'>): MergePanelSettings {
  const weighted = row.weights.some((w) => w !== 1);
  const methodSet = row.method !== defaultBlockMethod(settings);
  const rule = { block, ...(weighted ? { weights: [...row.weights] } : {}), ...(methodSet ? { method: row.method } : {}) };
  const others = settings.blocks.filter((r) => r.block !== block);
  const at = settings.blocks.findIndex((r) => r.block === block);
  if (!weighted && !methodSet) return { ...settings, blocks: others };
  // An edited rule keeps its place: later rules override earlier ones, so the order is part of the meaning.
  const blocks = at < 0 ? [...others, rule] : settings.blocks.map((r) => (r.block === block ? rule : r));
  return { ...settings, blocks };
}

/** A number field's text as a number; null for an empty field, NaN for text that is not a number. */
export function fieldNumber(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : NaN;
}

/**
 * A mean |cos| as one of `steps` + 1 shades (0 … steps) for a class name (styles go in as classes only), relative
 * to `max`, the largest value in the table: real LoRAs' overlaps are often a few hundredths, which an absolute
 * scale would leave all but blank, while what the table is for is where the overlap is. The caption says the scale.
 */
export function heatLevel(value: number | null, max = 1, steps = 10): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  if (!(max > 0)) return 0;
  return Math.max(0, Math.min(steps, Math.round((value / max) * steps)));
}

/** The largest measured value of an overlap table (0 when none is measured). */
export function overlapMax(blocks: readonly { readonly meanAbsCosine: readonly (number | null)[] }[]): number {
  let max = 0;
  for (const block of blocks) for (const value of block.meanAbsCosine) if (value !== null && Number.isFinite(value) && value > max) max = value;
  return max;
}
