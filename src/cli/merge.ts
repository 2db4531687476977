/** `ziplora merge CONTENT STYLE -o OUT`: runs the merge in the worker process, with progress and Ctrl-C. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES } from '../core/merge/backends';
import { inapplicableOptions, MergeOptionKey, optionProblem } from '../core/merge/merge-options';
import { DEFAULT_MERGE_OPTIONS, MERGE_METHODS, MergeRequest, MergeSummary, OUTPUT_DTYPES, OUTPUT_NAMINGS } from '../core/merge/request';
import { COLUMN_MODES, SOLVERS } from '../core/merge/types';
import { MergeProgressTracker } from '../core/format/merge-progress';
import { renderMergeSummary } from '../core/format/merge-text';
import { startMerge } from '../worker/client';
import { ProgressBar } from './progress';
import { writeReport } from './report';
import { CLI_OPTIONS, UsageError } from './usage';

/** Case-insensitive match of a word option (`--dtype f16`), else the text as typed (refused by the rule). */
const word = (allowed: readonly string[]) => (text: string) => allowed.find((a) => a.toLowerCase() === text.toLowerCase()) ?? text;
const numeric = (text: string) => (text.trim() === '' ? NaN : Number(text));

/** A flag's value, parsed for its option and checked by that option's rule (merge-options.ts): one wording everywhere. */
function flag<K extends MergeOptionKey>(key: K, name: string, text: string | undefined, fallback: MergeRequest[K], parse: (text: string) => unknown): MergeRequest[K] {
  if (text === undefined) return fallback;
  const value = parse(text);
  const problem = optionProblem(key, value, name, text);
  if (problem) throw new UsageError(problem);
  return value as MergeRequest[K];
}

/** Each option's flags, so that every row of the applicability table (merge-options.ts) is checked here. */
const FLAGS_OF: Partial<Record<MergeOptionKey, readonly string[]>> = {
  method: ['method'], solver: ['solver'], steps: ['steps'], lambda: ['lambda'], learningRate: ['lr'], columns: ['columns'], backend: ['backend'],
  rank: ['rank'], dtype: ['dtype'], naming: ['naming'], overwrite: ['force'], directWeights: ['content-weight', 'style-weight'], threads: ['threads'],
};

/** A flag the user typed that the chosen method or solver does not use is refused, never ignored; defaults never are. */
function refuseInapplicable(values: Record<string, unknown>, request: MergeRequest): void {
  const given = (Object.keys(FLAGS_OF) as MergeOptionKey[]).filter((key) => FLAGS_OF[key]!.some((flag) => values[flag] !== undefined));
  const problems = inapplicableOptions(given, request, (key) => FLAGS_OF[key]!.map((flag) => `--${flag}`).join('/'));
  if (problems.length) throw new UsageError(problems.join('; '));
}

export function parseMergeArgs(args: string[]): { request: MergeRequest; json: boolean; report?: string } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: CLI_OPTIONS.merge,
  });
  if (positionals.length !== 2) throw new UsageError(`merge takes CONTENT and STYLE (got ${positionals.length} files)`);
  if (!values.output) throw new UsageError('merge needs an output path: -o OUT.safetensors');
  const weights = [numeric(values['content-weight'] ?? '1'), numeric(values['style-weight'] ?? '1')] as const;
  const weightsProblem = optionProblem('directWeights', weights, '--content-weight and --style-weight', [values['content-weight'], values['style-weight']]);
  if (weightsProblem) throw new UsageError(weightsProblem);
  const d = DEFAULT_MERGE_OPTIONS;
  const request: MergeRequest = {
    content: positionals[0],
    style: positionals[1],
    output: flag('output', '-o', values.output, '', String),
    method: flag('method', '--method', values.method, d.method, word(MERGE_METHODS)),
    solver: flag('solver', '--solver', values.solver, d.solver, word(SOLVERS)),
    steps: flag('steps', '--steps', values.steps, d.steps, numeric),
    lambda: flag('lambda', '--lambda', values.lambda, d.lambda, numeric),
    learningRate: flag('learningRate', '--lr', values.lr, d.learningRate, numeric),
    columns: flag('columns', '--columns', values.columns, d.columns, word(COLUMN_MODES)),
    backend: flag('backend', '--backend', values.backend, d.backend, word(BACKEND_NAMES)),
    rank: flag('rank', '--rank', values.rank, undefined, numeric),
    dtype: flag('dtype', '--dtype', values.dtype, d.dtype, word(OUTPUT_DTYPES)),
    naming: flag('naming', '--naming', values.naming, d.naming, word(OUTPUT_NAMINGS)),
    overwrite: Boolean(values.force),
    directWeights: weights,
    sparsityThreshold: d.sparsityThreshold,
    threads: flag('threads', '--threads', values.threads, d.threads, numeric),
  };
  refuseInapplicable(values, request);
  if (values.report !== undefined && !/\.html?$/i.test(values.report)) throw new UsageError(`--report must end in .html (got "${values.report}")`);
  return { request, json: Boolean(values.json), report: values.report };
}

export async function runMergeCommand(args: string[], out: (text: string) => void): Promise<void> {
  const { request, json, report } = parseMergeArgs(args);
  const bar = new ProgressBar('merge');
  const tracker = new MergeProgressTracker();
  // Ctrl-C (or a SIGTERM) aborts the merge's cancellation token: the worker stops and removes what it staged.
  const interrupt = new AbortController();
  const running = startMerge(
    request,
    {
      onStart: (start) => {
        if (!json && process.stderr.isTTY)
          process.stderr.write(`backend ${start.backend} on ${start.device}, ${start.threads} compute thread${start.threads === 1 ? '' : 's'}; ${start.paired} layers to merge\n`);
      },
      onProgress: (p) => {
        const view = tracker.update(p);
        if (view) bar.show(view.fraction, `${view.text}${p.detail && p.phase !== 'writing' ? ` ${path.basename(p.detail)}` : ''}`);
      },
    },
    interrupt.signal,
  );
  const onInterrupt = () => {
    if (process.stderr.isTTY && !interrupt.signal.aborted) process.stderr.write('\ncancelling…\n');
    interrupt.abort();
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
