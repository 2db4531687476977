/** The readable text form of a checkpoint summary (the CLI's default output; the editor's plain-text view). */
import { CheckpointSummary, dtypeBreakdown, parameterCount, TensorSummary } from '../safetensors/summary';
import { TensorStats } from '../stats/tensor-stats';
import { formatBytes, formatCount, formatNumber, renderTable } from './format';

const METADATA_VALUE_WIDTH = 100;

export function renderSummaryText(summary: CheckpointSummary, stats?: (TensorStats | null)[]): string {
  const lines: string[] = [];
  lines.push(`File         ${summary.file}`);
  lines.push(`Size         ${formatBytes(summary.bytes)} (${formatCount(summary.bytes)} bytes)`);
  lines.push(`Header       ${formatCount(summary.headerBytes)} bytes`);
  lines.push(`Tensors      ${formatCount(summary.tensors.length)}`);
  lines.push(`Parameters   ${formatCount(parameterCount(summary.tensors))}`);
  const breakdown = dtypeBreakdown(summary.tensors)
    .map((d) => `${d.dtype} ×${d.tensors} (${formatBytes(d.bytes)})`)
    .join(', ');
  if (breakdown) lines.push(`Dtypes       ${breakdown}`);
  const metadata = Object.entries(summary.metadata);
  lines.push('', metadata.length ? `Metadata (${metadata.length})` : 'Metadata     none');
  for (const [key, value] of metadata) {
    const oneLine = value.replace(/\s+/g, ' ');
    lines.push(`  ${key}: ${oneLine.length > METADATA_VALUE_WIDTH ? `${oneLine.slice(0, METADATA_VALUE_WIDTH)}… (${formatCount(value.length)} chars)` : oneLine}`);
  }
  if (summary.tensors.length) {
    lines.push('');
    lines.push(renderTensorTable(summary.tensors, stats));
  }
  return lines.join('\n');
}

function renderTensorTable(tensors: readonly TensorSummary[], stats?: (TensorStats | null)[]): string {
  const headings = ['name', 'dtype', 'shape', 'bytes'];
  const right = [false, false, false, true];
  if (stats) {
    headings.push('min', 'max', 'mean', 'std', 'zeros', 'nan', 'inf');
    right.push(true, true, true, true, true, true, true);
  }
  const rows = tensors.map((t, i) => {
    const row = [t.name, t.dtype, `[${t.shape.join(', ')}]`, formatBytes(t.dataOffsets[1] - t.dataOffsets[0])];
    if (stats) {
      const s = stats[i];
      if (s) row.push(formatNumber(s.min), formatNumber(s.max), formatNumber(s.mean), formatNumber(s.std), formatCount(s.zeros), formatCount(s.nans), formatCount(s.infs));
      else row.push('not decodable', '', '', '', '', '', '');
    }
    return row;
  });
  return renderTable(headings, rows, right);
}

export function renderHistogram(stats: TensorStats): string {
  const { counts, min, max } = stats.histogram;
  const peak = Math.max(1, ...counts);
  const width = (max - min) / counts.length;
  return counts
    .map((c, i) => `  ${formatNumber(min + i * width).padStart(10)}  ${'█'.repeat(Math.round((c / peak) * 40)).padEnd(40)} ${formatCount(c)}`)
    .join('\n');
}

