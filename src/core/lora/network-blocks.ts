/**
 * Blocks of a network, derived from canonical module names (naming.ts). The one grouping used by the CLI's
 * merge summary, the editor's charts and the HTML report (the webview bundles this pure module): the per-layer
 * charts put layers in network order (text encoders, then the UNet's or transformer's input layers, down blocks,
 * middle, up blocks, output layers; for transformers the embedders and refiners, the double-stream, joint and
 * other numbered blocks, then the single-stream blocks and the output layers) and shade each block.
 */
import { ChartStage, FAMILY_SPECS } from './families';

export interface BlockInfo {
  /** Full block name, e.g. `unet.down_blocks.1`, `text_encoder_2`, `model.layers.12`. */
  readonly name: string;
  /** Shorter labels to try when the full name does not fit under the block's span. */
  readonly shortLabels: readonly string[];
  /** Sort key: component, stage, block index. */
  readonly order: readonly [number, number, number];
  /** The numbered container the block is one of (`transformer.single_blocks`): a chart labels its runs together. */
  readonly group?: string;
}

export interface BlockSpan {
  readonly block: BlockInfo;
  /** Index of the block's first and last layer in the ordered list. */
  readonly start: number;
  readonly end: number;
}

const COMPONENT_RANK: Readonly<Record<string, number>> = { text_encoder: 0, text_encoder_2: 1, text_encoder_3: 2, unet: 3, transformer: 3 };
const NO_COMPONENT_RANK = 4;

/** Containers no one family owns (diffusers' transformer blocks and output layers, language models' layers). */
const SHARED_STAGES: Readonly<Record<string, ChartStage>> = {
  transformer_blocks: { rank: 1, short: 'tb' }, layers: { rank: 1, short: 'L' }, h: { rank: 1 },
  norm_out: { rank: 4 }, proj_out: { rank: 4 }, head: { rank: 4 }, lm_head: { rank: 4 },
};
const STAGES: Readonly<Record<string, ChartStage>> = Object.assign({}, SHARED_STAGES, ...FAMILY_SPECS.map((spec) => spec.chartStages ?? {}));

/** Where a container of blocks sits along the network (the specs' chartStages); unknown top-level modules count as input layers (0). */
const STAGE_RANK: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(STAGES).map(([container, stage]) => [container, stage.rank]));

const SHORT_STAGE: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(STAGES).flatMap(([container, stage]) => (stage.short ? [[container, stage.short]] : [])));

const isIndex = (segment: string | undefined): segment is string => segment !== undefined && /^\d+$/.test(segment);

export function blockOf(module: string): BlockInfo {
  const segments = module.split('.');
  const component = segments[0] in COMPONENT_RANK ? segments[0] : null;
  if (component?.startsWith('text_encoder')) {
    const short = component === 'text_encoder' ? 'TE' : `TE${component.slice('text_encoder_'.length)}`;
    return { name: component, shortLabels: [short], order: [COMPONENT_RANK[component], 0, 0] };
  }
  const path = component ? segments.slice(1) : segments;
  const componentRank = component ? COMPONENT_RANK[component] : NO_COMPONENT_RANK;
  // A known stage without an index is a block of its own (`unet.mid_block.attentions.0…` is in mid_block).
  if (path[0] in STAGE_RANK && !isIndex(path[1])) {
    const name = component ? `${component}.${path[0]}` : path[0];
    return { name, shortLabels: [path[0], SHORT_STAGE[path[0]] ?? path[0].slice(0, 4)], order: [componentRank, STAGE_RANK[path[0]], 0] };
  }
  // Otherwise the container is the first segment followed by an index (`down_blocks.1`, `model.layers.12`).
  for (let i = 0; i < Math.min(path.length - 1, 2); i++) {
    if (isIndex(path[i + 1])) {
      const container = path[i];
      const index = Number(path[i + 1]);
      const name = [...(component ? [component] : []), ...path.slice(0, i + 2)].join('.');
      const within = path.slice(0, i + 2).join('.');
      const short = SHORT_STAGE[container];
      const group = [...(component ? [component] : []), ...path.slice(0, i + 1)].join('.');
      return { name, shortLabels: [within, ...(short ? [`${short} ${index}`] : []), String(index)], order: [componentRank, STAGE_RANK[container] ?? 1, index], group };
    }
  }
  const top = path[0] ?? module;
  const name = component ? `${component}.${top}` : top;
  return { name, shortLabels: [top, SHORT_STAGE[top] ?? top.slice(0, 4)], order: [componentRank, STAGE_RANK[top] ?? 0, 0] };
}

function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * Items in network order: sorted by block; within a block the host's order is kept (it follows the file,
 * and a finer order than "by block" cannot be read off names reliably).
 */
export function inNetworkOrder<T>(items: readonly T[], moduleOf: (item: T) => string): T[] {
  const keyed = items.map((item, index) => ({ item, index, block: blockOf(moduleOf(item)) }));
  keyed.sort((a, b) => compareOrder(a.block.order, b.block.order) || (a.block.name < b.block.name ? -1 : a.block.name > b.block.name ? 1 : 0) || a.index - b.index);
  return keyed.map((k) => k.item);
}

/** Consecutive runs of one block in an ordered list of modules. */
export function blockSpans(modules: readonly string[]): BlockSpan[] {
  const spans: BlockSpan[] = [];
  for (let i = 0; i < modules.length; i++) {
    const block = blockOf(modules[i]);
    const last = spans[spans.length - 1];
    if (last && last.block.name === block.name) spans[spans.length - 1] = { ...last, end: i };
    else spans.push({ block, start: i, end: i });
  }
  return spans;
}
