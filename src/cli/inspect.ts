/** `ziplora inspect`: the header, metadata and tensors of a file, optionally with value statistics. */
import { parseArgs } from 'node:util';
import { openCheckpoint, CheckpointTensor } from '../core/safetensors/checkpoint';
import { SafetensorsError } from '../core/safetensors/errors';
import { summarizeCheckpoint } from '../core/safetensors/summary';
import { manyTensorStats } from '../core/stats/file-stats';
import { TensorStats } from '../core/stats/tensor-stats';
import { formatBytes } from '../core/format/format';
import { renderHistogram, renderSummaryText } from '../core/format/summary-text';
import { renderAdapterText } from '../core/format/lora-text';
import { describeNonLora } from '../core/lora/not-a-lora';
import { AdapterSummary, summarizeAdapter } from '../core/lora/summary';
import { ProgressBar } from './progress';
import { CLI_OPTIONS, UsageError } from './usage';

interface InspectOptions {
  file: string;
  json: boolean;
  stats: boolean;
  tensor?: string;
}

function parseInspectArgs(args: string[]): InspectOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: CLI_OPTIONS.inspect,
  });
  if (positionals.length !== 1) throw new UsageError(`inspect takes exactly one FILE (got ${positionals.length})`);
  return { file: positionals[0], json: Boolean(values.json), stats: Boolean(values.stats), tensor: values.tensor };
}

export async function runInspect(args: string[], out: (text: string) => void): Promise<void> {
  const options = parseInspectArgs(args);
  const checkpoint = await openCheckpoint(options.file);
  try {
    let entries: readonly CheckpointTensor[] = checkpoint.tensors;
    if (options.tensor !== undefined) {
      entries = entries.filter((e) => e.info.name === options.tensor);
      if (!entries.length) throw new SafetensorsError(options.file, `has no tensor named "${options.tensor}"`, 'run `ziplora inspect FILE` to list the tensors');
    }
    const wantStats = options.stats || options.tensor !== undefined;
    let stats: (TensorStats | null)[] | undefined;
    if (wantStats) {
      const bar = new ProgressBar('statistics');
      stats = await manyTensorStats(entries, (p) => bar.update(p.doneBytes, p.totalBytes, formatBytes(p.doneBytes)));
      bar.done();
    }
    // The LoRA view belongs to the whole file; with --tensor the user asked about one tensor only.
    let adapter: AdapterSummary | undefined;
    if (options.tensor === undefined) {
      if (checkpoint.sharded) {
        adapter = { kind: describeNonLora(checkpoint.tensors.map((t) => t.info)), lora: null };
      } else {
        const bar = new ProgressBar('LoRA layers');
        adapter = await summarizeAdapter(checkpoint.files[0], (done, total) => bar.update(done, total, `${done}/${total}`));
        bar.done();
      }
    }
    const full = summarizeCheckpoint(checkpoint);
    // Without --tensor every tensor is shown: no need to filter a large header's list against itself.
    let summary = full;
    if (options.tensor !== undefined) {
      const names = new Set(entries.map((e) => e.info.name));
      summary = { ...full, tensors: full.tensors.filter((t) => names.has(t.name)) };
    }
    if (options.json) {
      const tensors = summary.tensors.map((t, i) => (stats ? { ...t, stats: stats[i] } : t));
      out(JSON.stringify({ ...summary, tensors, ...(adapter ?? {}) }, null, 2));
      return;
    }
    let text = renderSummaryText(summary, stats);
    if (options.tensor !== undefined && stats?.[0]) text += `\n\nHistogram of ${options.tensor}\n${renderHistogram(stats[0])}`;
    if (adapter) text += `\n\n${renderAdapterText(adapter)}`;
    out(text);
  } finally {
    await checkpoint.close();
  }
}
