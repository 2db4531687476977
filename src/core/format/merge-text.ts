/** The readable summary of a finished merge, per block of the network. */
import { blockOf, inNetworkOrder } from '../lora/network-blocks';
import { TwoWayLayerReport as LayerReport } from '../merge/two-way-bridge';
import { MergeSummary } from '../merge/request';
import { UnmergedTensors } from '../merge/unmerged-tensors';
import { formatNumber, renderTable } from './format';

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
  // The same blocks, in the same network order, as the editor's charts.
  const groups = new Map<string, LayerReport[]>();
  for (const r of inNetworkOrder(reports, (report) => report.module)) {
    const block = blockOf(r.module).name;
    groups.set(block, [...(groups.get(block) ?? []), r]);
  }
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

const SHOWN = 10;

/** Names, the first few of them, and how many more (all of them are in --json). */
function someOf(names: readonly string[]): string {
  const more = names.length - SHOWN;
  return names.slice(0, SHOWN).join(', ') + (more > 0 ? `, and ${more} more (all in --json)` : '');
}

/** What was copied unchanged and what was left out (with why), so that no tensor goes missing unannounced. */
export function unmergedLines(unmerged: UnmergedTensors): string[] {
  const lines: string[] = [];
  for (const file of ['content', 'style'] as const) {
    const copied = unmerged.copied.filter((c) => c.file === file).map((c) => (c.writtenAs ? `${c.module} (as ${c.writtenAs.join(' + ')})` : c.module));
    if (copied.length) lines.push(`Copied       ${copied.length} layer${copied.length === 1 ? '' : 's'} only in the ${file} file, unchanged: ${someOf(copied)}`);
  }
  const byReason = new Map<string, string[]>();
  for (const t of unmerged.leftOut) {
    const key = `${t.file}\u0000${t.reason}`;
    byReason.set(key, [...(byReason.get(key) ?? []), t.tensor]);
  }
  for (const [key, tensors] of byReason) {
    const [file, reason] = key.split('\u0000');
    lines.push(`Left out     ${tensors.length} tensor${tensors.length === 1 ? '' : 's'} of the ${file} file, ${reason}: ${someOf(tensors)}`);
  }
  return lines;
}

export function renderMergeSummary(summary: MergeSummary): string {
  const { layers } = summary;
  const lines = [
    `Merged LoRA  ${summary.output}`,
    `Sidecar      ${summary.sidecar}`,
    `Method       ${summary.method}, backend ${summary.backend} on ${summary.device}, ${summary.threads} compute thread${summary.threads === 1 ? '' : 's'}`,
    `Layers       ${layers.merged} merged, ${layers.copiedFromContent} copied from content, ${layers.copiedFromStyle} copied from style, ${layers.refused} refused`,
    `Time         ${summary.seconds.toFixed(1)} s, peak memory ${summary.peakRssMiB.toFixed(0)} MiB${summary.method === 'ziplora' ? ` (optimisation ${summary.optimiseSeconds.toFixed(1)} s${summary.gflops ? `, ${summary.gflops.toFixed(2)} GFLOP/s` : ''})` : ''}`,
    `Mean error   content ${formatNumber(summary.meanContentError)}, style ${formatNumber(summary.meanStyleError)}` +
      `  (direct merge: content ${formatNumber(summary.meanDirectContentError)}, style ${formatNumber(summary.meanDirectStyleError)})`,
  ];
  lines.push(...unmergedLines(summary.unmerged));
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
