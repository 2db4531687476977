/**
 * Each pair's overlap per block for the merge panel: the Compare command's measure (mean |cos| between two LoRAs'
 * columns per paired layer, averaged per block by compare-many.ts), computed in the worker for all the inputs in
 * one task. Nothing here reads tensor data.
 */
import type { PanelOverlap } from '../shared/merge-panel-protocol';
import type { ComparisonView } from '../shared/webview-protocol';
import { runWorkerTask } from '../worker/client';

/** The panel's table from the worker's comparison: pairs as (a, b) in compare-many's order, blocks in network order. */
export function panelOverlap(view: Pick<ComparisonView, 'pairs' | 'blocks'>): PanelOverlap {
  return {
    pairs: view.pairs.map((pair) => [pair.a, pair.b] as const),
    blocks: view.blocks.map((block) => ({ block: block.block, meanAbsCosine: [...block.meanAbsCosine] })),
  };
}

/** Compares the inputs pair by pair in the worker; an abort stops the worker and rejects. */
export async function computePanelOverlap(files: readonly string[], signal: AbortSignal): Promise<PanelOverlap> {
  const report = await runWorkerTask({ kind: 'compare', files }, signal);
  return panelOverlap(report.view);
}
