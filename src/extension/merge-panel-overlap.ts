/**
 * Each pair's overlap per block for the merge panel: the Compare command's measure (mean |cos| between two
 * LoRAs' columns, per paired layer) computed in the worker for every pair of inputs, then averaged per block
 * (network-blocks.ts' names, the ones block rules use). Only the averaging — a few numbers per layer — runs here.
 */
import { blockOf, inNetworkOrder } from '../core/lora/network-blocks';
import type { ComparisonView } from '../shared/webview-protocol';
import type { PanelOverlap } from '../shared/merge-panel-protocol';
import { runWorkerTask } from '../worker/client';

/** Every pair of `count` inputs, i < k, in the order the solver and the sidecar use: (0,1), (0,2) … (1,2) …. */
export function inputPairs(count: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) pairs.push([a, b]);
  return pairs;
}

/** Per block (network order) and pair, the mean over the block's measured layers of mean |cos|; null where none was. */
export function blockOverlap(pairs: readonly (readonly [number, number])[], layers: readonly ComparisonView['layers'][]): PanelOverlap {
  const sums = new Map<string, { sum: number[]; count: number[] }>();
  const modules: string[] = [];
  layers.forEach((pairLayers, p) => {
    for (const layer of pairLayers) {
      const block = blockOf(layer.module).name;
      let entry = sums.get(block);
      if (!entry) {
        sums.set(block, (entry = { sum: pairs.map(() => 0), count: pairs.map(() => 0) }));
        modules.push(layer.module);
      }
      if (layer.meanAbsCosine === null) continue;
      entry.sum[p] += layer.meanAbsCosine;
      entry.count[p]++;
    }
  });
  // One module per block is enough to put the blocks in network order.
  const blocks = inNetworkOrder(modules, (m) => m).map((module) => {
    const block = blockOf(module).name;
    const { sum, count } = sums.get(block)!;
    return { block, meanAbsCosine: sum.map((s, p) => (count[p] ? s / count[p] : null)) };
  });
  return { pairs: pairs.map(([a, b]) => [a, b] as const), blocks };
}

/**
 * Compares every pair of `files` in the worker (one pair after another: each task is a worker of its own) and
 * averages per block. `onPair` reports pairs done; an abort stops the running comparison and rejects.
 */
export async function computePanelOverlap(files: readonly string[], signal: AbortSignal, onPair: (done: number, total: number) => void): Promise<PanelOverlap> {
  const pairs = inputPairs(files.length);
  const layers: ComparisonView['layers'][] = [];
  onPair(0, pairs.length);
  for (const [a, b] of pairs) {
    const report = await runWorkerTask({ kind: 'compare', first: files[a], second: files[b] }, signal);
    layers.push(report.view.layers);
    onPair(layers.length, pairs.length);
  }
  return blockOverlap(pairs, layers);
}
