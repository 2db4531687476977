/** `ziplora merge CONTENT STYLE -o OUT`: runs the merge in the worker process, with progress and Ctrl-C. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isBackendName } from '../core/merge/backends';
import { DEFAULT_MERGE_OPTIONS, MergeRequest, MergeSummary, OutputDtype, OutputNaming } from '../core/merge/request';
import { renderMergeSummary } from '../core/format/merge-text';
import { startMerge } from '../worker/client';
import { ProgressBar } from './progress';
import { writeReport } from './report';
import { UsageError } from './usage';

function number(value: string | undefined, name: string, fallback: number, check: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || !check(parsed)) throw new UsageError(`--${name} ${value} is not valid`);
  return parsed;
}

function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!match) throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got "${value}")`);
  return match;
}

export function parseMergeArgs(args: string[]): { request: MergeRequest; json: boolean; report?: string } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      method: { type: 'string' },
      steps: { type: 'string' },
      lambda: { type: 'string' },
      lr: { type: 'string' },
      columns: { type: 'string' },
      backend: { type: 'string' },
      rank: { type: 'string' },
      dtype: { type: 'string' },
      naming: { type: 'string' },
      'content-weight': { type: 'string' },
      'style-weight': { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      report: { type: 'string' },
    },
  });
  if (positionals.length !== 2) throw new UsageError(`merge takes CONTENT and STYLE (got ${positionals.length} files)`);
  if (!values.output) throw new UsageError('merge needs an output path: -o OUT.safetensors');
  if (!values.output.toLowerCase().endsWith('.safetensors')) throw new UsageError(`the output must end in .safetensors (got "${values.output}")`);
  const backend = values.backend ?? DEFAULT_MERGE_OPTIONS.backend;
  if (!isBackendName(backend)) throw new UsageError(`--backend must be one of auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu (got "${backend}")`);
  const request: MergeRequest = {
    content: positionals[0],
    style: positionals[1],
    output: values.output,
    method: oneOf(values.method, 'method', ['ziplora', 'direct'] as const, DEFAULT_MERGE_OPTIONS.method),
    steps: number(values.steps, 'steps', DEFAULT_MERGE_OPTIONS.steps, (n) => Number.isInteger(n) && n >= 0 && n <= 100_000),
    lambda: number(values.lambda, 'lambda', DEFAULT_MERGE_OPTIONS.lambda, (n) => n >= 0),
    learningRate: number(values.lr, 'lr', DEFAULT_MERGE_OPTIONS.learningRate, (n) => n > 0),
    columns: oneOf(values.columns, 'columns', ['input', 'output'] as const, DEFAULT_MERGE_OPTIONS.columns),
    backend,
    rank: values.rank === undefined ? undefined : number(values.rank, 'rank', 0, (n) => Number.isInteger(n) && n >= 1),
    dtype: oneOf<OutputDtype>(values.dtype, 'dtype', ['auto', 'F16', 'BF16', 'F32'], DEFAULT_MERGE_OPTIONS.dtype),
    naming: oneOf<OutputNaming>(values.naming, 'naming', ['content', 'style', 'kohya', 'diffusers'], DEFAULT_MERGE_OPTIONS.naming),
    overwrite: Boolean(values.force),
    directWeights: [number(values['content-weight'], 'content-weight', 1, Number.isFinite), number(values['style-weight'], 'style-weight', 1, Number.isFinite)],
    sparsityThreshold: DEFAULT_MERGE_OPTIONS.sparsityThreshold,
  };
  if (values.report !== undefined && !/\.html?$/i.test(values.report)) throw new UsageError(`--report must end in .html (got "${values.report}")`);
  return { request, json: Boolean(values.json), report: values.report };
}

export async function runMergeCommand(args: string[], out: (text: string) => void): Promise<void> {
  const { request, json, report } = parseMergeArgs(args);
  const bar = new ProgressBar('merge');
  const running = startMerge(request, {
    onStart: (start) => {
      if (!json && process.stderr.isTTY) process.stderr.write(`backend ${start.backend} on ${start.device}; ${start.paired} layers to merge\n`);
    },
    onProgress: (p) => bar.update(p.done, p.total, `${p.phase} ${p.done}/${p.total}${p.detail ? ` ${path.basename(p.detail)}` : ''}`),
  });
  const onInterrupt = () => {
    if (process.stderr.isTTY) process.stderr.write('\ncancelling…\n');
    running.cancel();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  let summary: MergeSummary;
  try {
    summary = await running.result;
  } finally {
    bar.done();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
  if (report) await writeReport(summary.sidecar, report, request.overwrite);
  out(json ? JSON.stringify({ ...summary, reports: undefined, layerReports: summary.reports }, null, 2) : renderMergeSummary(summary) + (report ? `\nReport       ${report}` : ''));
}
