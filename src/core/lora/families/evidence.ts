/** Small helpers the families' recognisers share: counting blocks, testing paths, wording the evidence. */
import { TransformerLayerInfo } from './types';

/** The value that occurs most often (the first of equals), or undefined for none. */
export function mostCommon(values: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Highest block index + 1 of a container (`transformer_blocks`), or 0 when the file has none. */
export function blockCount(layers: readonly TransformerLayerInfo[], container: string): number {
  let max = -1;
  for (const { path } of layers) {
    const m = new RegExp(`^${container}\\.(\\d+)\\.`).exec(path);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

export const has = (layers: readonly TransformerLayerInfo[], pattern: RegExp) => layers.some((l) => pattern.test(l.path));

export function blocksEvidence(count: number, container: string): string {
  return `${container}.0–${count - 1} (${count} block${count === 1 ? '' : 's'})`;
}

export const withHidden = (evidence: string[], hidden: number | undefined) => (hidden ? [...evidence, `hidden size ${hidden}`] : evidence);

/**
 * Joint (MMDiT-style) blocks in diffusers naming (`transformer_blocks.N.attn.to_q`…) without single-stream blocks:
 * the block count and its evidence, or undefined. Several families have them; their width and count tell which.
 */
export function jointDiffusersBlocks(layers: readonly TransformerLayerInfo[]): { count: number; evidence: string } | undefined {
  if (!has(layers, /^transformer_blocks\.\d+\.attn\./)) return undefined;
  const count = blockCount(layers, 'transformer_blocks');
  return { count, evidence: `joint transformer blocks (attn.to_q …, no single-stream blocks): ${blocksEvidence(count, 'transformer_blocks')}` };
}

/** Double- and single-stream blocks in either naming: their counts in words, or undefined when the file has no stream blocks. */
export function streamBlocks(layers: readonly TransformerLayerInfo[]): { double: number; single: number; counts: string[] } | undefined {
  if (!has(layers, /^(double_blocks|single_blocks|single_transformer_blocks)\./)) return undefined;
  const double = Math.max(blockCount(layers, 'double_blocks'), blockCount(layers, 'transformer_blocks'));
  const single = Math.max(blockCount(layers, 'single_blocks'), blockCount(layers, 'single_transformer_blocks'));
  const counts = [
    double && blocksEvidence(double, has(layers, /^double_blocks\./) ? 'double_blocks' : 'transformer_blocks'),
    single && blocksEvidence(single, has(layers, /^single_blocks\./) ? 'single_blocks' : 'single_transformer_blocks'),
  ].filter(Boolean) as string[];
  return { double, single, counts };
}
