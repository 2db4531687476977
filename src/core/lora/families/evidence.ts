/** Small helpers the families' recognisers share: counting blocks, testing paths, wording the evidence, metadata rules. */
import { MetadataRule, TransformerLayerInfo } from './types';

/** kohya / sd-scripts' `ss_base_model_version` matching `pattern`. */
export const kohyaBaseModel = (order: number, pattern: RegExp): MetadataRule => ({ order, key: 'ss_base_model_version', pattern });
/** The model spec's `modelspec.architecture` matching `pattern`. */
export const modelspecArchitecture = (order: number, pattern: RegExp): MetadataRule => ({ order, key: 'modelspec.architecture', pattern });

/** The value that occurs most often (the first of equals), or undefined for none. */
export function mostCommon(values: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Highest block index + 1 of a container (`transformer_blocks`), or 0 when the file has none. */
export function blockCount(layers: readonly TransformerLayerInfo[], container: string): number {
  let max = -1;
  const block = new RegExp(`^${container}\\.(\\d+)\\.`);
  for (const { path } of layers) {
    const m = block.exec(path);
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
