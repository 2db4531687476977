/**
 * Comparing 2..8 LoRAs: every pair (i < k, in the order (0,1), (0,2) … (1,2) …) through the two-way comparison
 * of compare.ts, and each pair's mean |cos| per block (network-blocks.ts' names, in network order). With two
 * files this is exactly the two-way comparison, one pair.
 */
import { blockOf } from './network-blocks';
import { compareLoras, CompareOptions, Comparison } from './compare';
import { OpenLora } from './open-lora';

export const MIN_COMPARED_FILES = 2;
export const MAX_COMPARED_FILES = 8;

export interface ComparedPair {
  /** 0-based indices of the two files in the order they were given. */
  readonly a: number;
  readonly b: number;
  readonly comparison: Comparison;
}

export interface BlockCosines {
  readonly block: string;
  /** Per pair (in `pairs` order): the mean over the block's paired layers of mean |cos|; null when none was measured. */
  readonly meanAbsCosine: readonly (number | null)[];
  /** Per pair: how many layers of the block the mean is over. */
  readonly layers: readonly number[];
}

export interface ManyComparison {
  readonly pairs: readonly ComparedPair[];
  readonly blocks: readonly BlockCosines[];
}

/** Every pair of `count` inputs, i < k, in the order the solver and the sidecar use. */
export function pairIndices(count: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) pairs.push([a, b]);
  return pairs;
}

/** Letters for the files in texts and panels: A, B, C … (the two-way wording's A and B, continued). */
export function fileLetter(index: number): string {
  return String.fromCharCode(65 + index);
}

export function checkComparedCount(count: number): void {
  if (count < MIN_COMPARED_FILES || count > MAX_COMPARED_FILES) {
    throw new RangeError(`compare takes ${MIN_COMPARED_FILES} to ${MAX_COMPARED_FILES} LoRA files (got ${count})`);
  }
}

/** Each pair's mean |cos| per block, blocks in network order. Layers without a measure (null) are left out of the means. */
export function blockCosines(pairs: readonly Pick<ComparedPair, 'comparison'>[]): BlockCosines[] {
  const sums = new Map<string, { order: readonly number[]; sum: number[]; count: number[] }>();
  pairs.forEach(({ comparison }, p) => {
    for (const measure of comparison.measures) {
      const block = blockOf(measure.module);
      let entry = sums.get(block.name);
      if (!entry) sums.set(block.name, (entry = { order: block.order, sum: pairs.map(() => 0), count: pairs.map(() => 0) }));
      if (measure.meanAbsCosine === null) continue;
      entry.sum[p] += measure.meanAbsCosine;
      entry.count[p]++;
    }
  });
  const byOrder = (a: readonly number[], b: readonly number[]) => a.reduce((d, v, i) => d || v - b[i], 0);
  return [...sums.entries()]
    .sort(([nameA, a], [nameB, b]) => byOrder(a.order, b.order) || (nameA < nameB ? -1 : nameA > nameB ? 1 : 0))
    .map(([block, { sum, count }]) => ({ block, meanAbsCosine: sum.map((s, p) => (count[p] ? s / count[p] : null)), layers: count }));
}

/**
 * Compares every pair of `loras` (already open) with compareLoras. Progress counts the layers of all pairs.
 * A pair's incompatibility is left in its report for the caller to refuse with the files' names.
 */
export async function compareMany(loras: readonly OpenLora[], options: CompareOptions = {}): Promise<ManyComparison> {
  checkComparedCount(loras.length);
  const indices = pairIndices(loras.length);
  const pairs: ComparedPair[] = [];
  let before = 0;
  for (const [a, b] of indices) {
    // Each pair's total is known once it is paired; the bar grows by pairs, then by layers within one.
    const onProgress = options.onProgress && ((done: number, total: number) => options.onProgress!(before + done, before + total + (indices.length - pairs.length - 1) * total));
    const comparison = await compareLoras(loras[a], loras[b], { ...options, onProgress });
    before += comparison.measures.length;
    pairs.push({ a, b, comparison });
  }
  return { pairs, blocks: blockCosines(pairs) };
}
