/** The readable summary of a finished merge, per block of the network. */
import { LayerReport } from '../merge/layer-report';
import { MergeSummary } from '../merge/request';
import { formatNumber, renderTable } from './format';

/** The block a module belongs to, for grouping: `unet.down_blocks.1`, `text_encoder`, `transformer.single_transformer_blocks`… */
export function blockOf(module: string): string {
  const match = /^(\w+)\.(down_blocks\.\d+|up_blocks\.\d+|mid_block|transformer_blocks|single_transformer_blocks|text_model|model\.layers)/.exec(module);
  if (match) return `${match[1]}.${match[2]}`;
  return module.split('.').slice(0, 2).join('.');
}

export interface BlockSummary {
  readonly block: string;
  readonly layers: number;
  readonly contentError: number;
  readonly styleError: number;
  readonly directContentError: number;
  readonly directStyleError: number;
  readonly overlapBefore: number;
  readonly overlapAfter: number;
  readonly sparsityContent: number;
  readonly sparsityStyle: number;
}

export function summarizeByBlock(reports: readonly LayerReport[]): BlockSummary[] {
  const groups = new Map<string, LayerReport[]>();
  for (const r of reports) groups.set(blockOf(r.module), [...(groups.get(blockOf(r.module)) ?? []), r]);
  const mean = (rs: LayerReport[], key: keyof LayerReport) => rs.reduce((a, r) => a + (r[key] as number), 0) / rs.length;
  return [...groups].map(([block, rs]) => ({
    block,
    layers: rs.length,
    contentError: mean(rs, 'contentError'),
    styleError: mean(rs, 'styleError'),
    directContentError: mean(rs, 'directContentError'),
    directStyleError: mean(rs, 'directStyleError'),
    overlapBefore: mean(rs, 'overlapBefore'),
    overlapAfter: mean(rs, 'overlapAfter'),
    sparsityContent: mean(rs, 'sparsityContent'),
    sparsityStyle: mean(rs, 'sparsityStyle'),
  }));
}

export function renderMergeSummary(summary: MergeSummary): string {
  const { layers } = summary;
  const lines = [
    `Merged LoRA  ${summary.output}`,
    `Sidecar      ${summary.sidecar}`,
    `Method       ${summary.method}, backend ${summary.backend} on ${summary.device}`,
    `Layers       ${layers.merged} merged, ${layers.copiedFromContent} copied from content, ${layers.copiedFromStyle} copied from style, ${layers.refused} refused`,
    `Time         ${summary.seconds.toFixed(1)} s, peak memory ${summary.peakRssMiB.toFixed(0)} MiB${summary.method === 'ziplora' ? ` (optimisation ${summary.optimiseSeconds.toFixed(1)} s${summary.gflops ? `, ${summary.gflops.toFixed(2)} GFLOP/s` : ''})` : ''}`,
    `Mean error   content ${formatNumber(summary.meanContentError)}, style ${formatNumber(summary.meanStyleError)}` +
      `  (direct merge: content ${formatNumber(summary.meanDirectContentError)}, style ${formatNumber(summary.meanDirectStyleError)})`,
  ];
  for (const warning of summary.warnings) lines.push(`Warning      ${warning}`);
  const rows = summarizeByBlock(summary.reports).map((b) => [
    b.block,
    String(b.layers),
    formatNumber(b.contentError),
    formatNumber(b.styleError),
    formatNumber(b.directContentError + b.directStyleError),
    formatNumber(b.overlapBefore),
    formatNumber(b.overlapAfter),
    `${(100 * b.sparsityContent).toFixed(0)}% / ${(100 * b.sparsityStyle).toFixed(0)}%`,
  ]);
  lines.push('', renderTable(['block', 'layers', 'content err', 'style err', 'direct err (sum)', 'overlap before', 'overlap after', 'sparsity c / s'], rows, [false, true, true, true, true, true, true, true]));
  return lines.join('\n');
}
