/** The readable summary of a finished merge, per block of the network; two inputs keep the content/style wording. */
import { blockOf, inNetworkOrder } from '../lora/network-blocks';
import { LayerReport } from '../merge/layer-report';
import { inputLabel, MergeSummary } from '../merge/request';
import { STOP_REASONS } from '../merge/types';
import { UnmergedTensors } from '../merge/unmerged-tensors';
import { formatNumber, renderTable } from './format';

export interface BlockSummary {
  readonly block: string;
  readonly layers: number;
  /** Per request input, the mean over the block's layers it is in (NaN where it is in none). */
  readonly errors: readonly number[];
  readonly directErrors: readonly number[];
  readonly sparsity: readonly number[];
  /** Mean over the block's layers of each layer's mean over its pairs. */
  readonly overlapBefore: number;
  readonly overlapAfter: number;
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);

/** Per input, the mean of `pick` over the layers that have that input. */
function perInput(reports: readonly LayerReport[], inputs: number, pick: (r: LayerReport) => readonly number[]): number[] {
  return Array.from({ length: inputs }, (_, input) => mean(reports.flatMap((r) => (r.inputs.includes(input) ? [pick(r)[r.inputs.indexOf(input)]] : []))));
}

export function summarizeByBlock(reports: readonly LayerReport[], inputs: number): BlockSummary[] {
  // The same blocks, in the same network order, as the editor's charts.
  const groups = new Map<string, LayerReport[]>();
  for (const r of inNetworkOrder(reports, (report) => report.module)) {
    const block = blockOf(r.module).name;
    groups.set(block, [...(groups.get(block) ?? []), r]);
  }
  const pairMean = (r: LayerReport, key: 'overlapBefore' | 'overlapAfter') => mean(r.pairs.map((p) => p[key]));
  return [...groups].map(([block, rs]) => ({
    block,
    layers: rs.length,
    errors: perInput(rs, inputs, (r) => r.errors),
    directErrors: perInput(rs, inputs, (r) => r.directErrors),
    sparsity: perInput(rs, inputs, (r) => r.sparsity),
    overlapBefore: mean(rs.map((r) => pairMean(r, 'overlapBefore'))),
    overlapAfter: mean(rs.map((r) => pairMean(r, 'overlapAfter'))),
  }));
}

const SHOWN = 10;

/** Names, the first few of them, and how many more (all of them are in --json). */
function someOf(names: readonly string[]): string {
  const more = names.length - SHOWN;
  return names.slice(0, SHOWN).join(', ') + (more > 0 ? `, and ${more} more (all in --json)` : '');
}

/** An input as the summary names it: "the content file (a.safetensors)" for two inputs, "input 3 (c.safetensors)" beyond. */
function fileInWords(files: readonly string[], input: number): string {
  const label = inputLabel(input, files.length);
  return files.length === 2 ? `the ${label} file (${files[input]})` : `${label} (${files[input]})`;
}

/** What was copied (scaled by its weight where that is not 1) and what was left out (with why), so that no tensor goes missing unannounced. */
export function unmergedLines(unmerged: UnmergedTensors, files: readonly string[]): string[] {
  const lines: string[] = [];
  files.forEach((_, input) => {
    const copies = unmerged.copied.filter((c) => c.input === input);
    const copied = copies.map((c) => (c.writtenAs ? `${c.module} (as ${c.writtenAs.join(' + ')})` : c.module));
    const weights = [...new Set(copies.map((c) => c.weight))];
    const how = weights.length === 1 && weights[0] === 1 ? 'unchanged' : `scaled by its weight (${weights.map((w) => formatNumber(w)).join(', ')})`;
    if (copied.length) lines.push(`Copied       ${copied.length} layer${copied.length === 1 ? '' : 's'} only in ${fileInWords(files, input)}, ${how}: ${someOf(copied)}`);
  });
  const byReason = new Map<string, { input: number; reason: string; tensors: string[] }>();
  for (const t of unmerged.leftOut) {
    const key = `${t.input}\u0000${t.reason}`;
    if (!byReason.has(key)) byReason.set(key, { input: t.input, reason: t.reason, tensors: [] });
    byReason.get(key)!.tensors.push(t.tensor);
  }
  for (const { input, reason, tensors } of byReason.values()) {
    lines.push(`Left out     ${tensors.length} tensor${tensors.length === 1 ? '' : 's'} of ${fileInWords(files, input)}, ${reason}: ${someOf(tensors)}`);
  }
  return lines;
}

/** A mean over no layer (an input in none of a block's merged layers) shows as a dash. */
const num = (value: number) => (Number.isNaN(value) ? '–' : formatNumber(value));

/** Bytes in MiB with one decimal. */
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** `--lambda auto`: the merge's λ path (errors summed, overlap the layers' mean), one row per λ. */
export function lambdaCurveTable(curve: NonNullable<MergeSummary['lambdaCurve']>): string {
  return renderTable(['λ', 'error (sum)', 'overlap (mean)'], curve.map((p) => [formatNumber(p.lambda), formatNumber(p.error), formatNumber(p.overlap)]), [true, true, true]);
}

/**
 * How the solved layers' solves ended, e.g. "950 certificate, 30 tolerance, 6 cap" (docs/merge-method.md §3);
 * empty when no layer was solved.
 */
export function stopCounts(reports: readonly Pick<LayerReport, 'stop' | 'method'>[]): string {
  const solved = reports.filter((r) => r.method === 'zip');
  const counts = STOP_REASONS.map((reason) => [reason, solved.filter((r) => r.stop === reason).length] as const);
  return counts
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
}

export function renderMergeSummary(summary: MergeSummary): string {
  const { layers } = summary;
  const files = summary.inputs.map((input) => input.file);
  const count = files.length;
  const label = (i: number) => inputLabel(i, count);
  const copied = layers.copied.map((n, i) => `${n} copied from ${label(i)}`).join(', ');
  const notWritten = layers.notWritten ? `, ${layers.notWritten} not written (skipped or weight 0)` : '';
  const errors = (values: readonly number[]) => values.map((e, i) => `${label(i)} ${num(e)}`).join(', ');
  const lines = [
    `Merged LoRA  ${summary.output}`,
    `Sidecar      ${summary.sidecar}`,
    `Inputs       ${summary.inputs.map((input, i) => `${label(i)} ${input.file}${input.weight !== 1 ? ` ×${formatNumber(input.weight)}` : ''}`).join(', ')}`,
    `Method       ${summary.method}, backend ${summary.backend} on ${summary.device}, ${summary.threads} compute thread${summary.threads === 1 ? '' : 's'}`,
    `Layers       ${layers.merged} merged, ${copied}${notWritten}, ${layers.refused} refused`,
    `Time         ${summary.seconds.toFixed(1)} s, peak memory ${summary.peakRssMiB.toFixed(0)} MiB${summary.method === 'ziplora' ? ` (optimisation ${summary.optimiseSeconds.toFixed(1)} s${summary.gflops ? `, ${summary.gflops.toFixed(2)} GFLOP/s` : ''})` : ''}`,
    `Mean error   ${errors(summary.meanErrors)}  (direct merge: ${errors(summary.meanDirectErrors)})`,
    `File size    ${mib(summary.fileBytes)}${summary.exactFileBytes !== summary.fileBytes ? ` (${mib(summary.exactFileBytes)} at the exact rank Σ r_i)` : ''}`,
  ];
  const stops = stopCounts(summary.reports);
  if (stops) lines.push(`Stopped      ${stops}`);
  lines.push(...unmergedLines(summary.unmerged, files));
  if (summary.lambdaCurve) lines.push('', 'λ path (--lambda auto) over the layers; each layer\'s λ is chosen by the rule of docs/merge-method.md §4:', lambdaCurveTable(summary.lambdaCurve));
  const short = count === 2 ? ['c', 's'] : files.map((_, i) => String(i + 1));
  const rows = summarizeByBlock(summary.reports, count).map((b) => [
    b.block,
    String(b.layers),
    ...b.errors.map(num),
    formatNumber(b.directErrors.reduce((a, e) => a + (Number.isNaN(e) ? 0 : e), 0)),
    formatNumber(b.overlapBefore),
    formatNumber(b.overlapAfter),
    b.sparsity.map((s) => (Number.isNaN(s) ? '–' : `${(100 * s).toFixed(0)}%`)).join(' / '),
  ]);
  const headers = ['block', 'layers', ...files.map((_, i) => `${label(i)} err`), 'direct err (sum)', 'overlap before', 'overlap after', `sparsity ${short.join(' / ')}`];
  lines.push('', renderTable(headers, rows, headers.map((_, i) => i > 0)));
  return lines.join('\n');
}
