/** What the double- and single-stream families share: their blocks as evidence, and how the charts order them. */
import { blockCount, blocksEvidence, has } from './evidence';
import { ChartStage, TransformerLayerInfo } from './types';

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

/** Double-stream blocks first, then the single-stream ones, then the final layer. */
export const STREAM_CHART_STAGES: Readonly<Record<string, ChartStage>> = {
  double_blocks: { rank: 1, short: 'db' },
  single_transformer_blocks: { rank: 3, short: 'stb' },
  single_blocks: { rank: 3, short: 'sb' },
  final_layer: { rank: 4 },
};
