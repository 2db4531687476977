/** `ziplora merge A B [C …] -o OUT` (or `--recipe FILE`): runs the merge in the worker process, with progress and Ctrl-C. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES } from '../core/merge/backends';
import { BlockRuleSyntaxError, blockRulesProblems, formatBlockRule, parseBlockRule } from '../core/merge/block-rules';
import { inapplicableOptions, MAX_INPUT_WEIGHT, MergeOptionKey, optionProblem } from '../core/merge/merge-options';
import { loadRecipeRequest } from '../core/merge/recipe-file';
import { BlockRule, DEFAULT_MERGE_OPTIONS, MAX_INPUTS, MERGE_METHODS, MergeRequest, MergeSummary, MIN_INPUTS, OUTPUT_DTYPES, OUTPUT_NAMINGS } from '../core/merge/request';
import { COLUMN_MODES, SOLVERS } from '../core/merge/types';
import { MergeProgressTracker } from '../core/format/merge-progress';
import { renderMergeSummary } from '../core/format/merge-text';
import { startMerge } from '../worker/client';
import { ProgressBar } from './progress';
import { expertMerges, expertsOptionProblem } from './merge-experts';
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
  rank: ['rank'], rankEnergy: ['rank-energy'], dtype: ['dtype'], naming: ['naming'], overwrite: ['force'], threads: ['threads'],
  inputs: ['weights', 'content-weight', 'style-weight'], blocks: ['block'], allowMixedExperts: ['allow-mixed-experts'],
};

/** A flag the user typed that the chosen method or solver does not use is refused, never ignored; defaults never are. */
function refuseInapplicable(values: Record<string, unknown>, request: MergeRequest): void {
  const given = (Object.keys(FLAGS_OF) as MergeOptionKey[]).filter((key) => FLAGS_OF[key]!.some((flag) => values[flag] !== undefined));
  const problems = inapplicableOptions(given, request, (key) => FLAGS_OF[key]!.map((flag) => `--${flag}`).join('/'));
  if (problems.length) throw new UsageError(problems.join('; '));
}

type MergeFlags = ReturnType<typeof parseFlags>['values'];

function parseFlags(args: string[]) {
  return parseArgs({ args, allowPositionals: true, options: CLI_OPTIONS.merge });
}

/**
 * Each input's strength: `--weights a,b,…` (one per input), or for two inputs `--content-weight`/`--style-weight`;
 * `fallback` where none is given (1 each, or the recipe's).
 */
function inputWeights(values: MergeFlags, count: number, fallback: readonly number[]): number[] {
  const pair = values['content-weight'] !== undefined || values['style-weight'] !== undefined;
  if (values.weights !== undefined && pair) throw new UsageError('give the weights once: --weights, or --content-weight and --style-weight');
  if (pair && count !== 2) throw new UsageError(`--content-weight and --style-weight are for two inputs; with ${count}, give --weights with ${count} numbers`);
  const texts = values.weights !== undefined ? values.weights.split(',') : pair ? [values['content-weight'] ?? String(fallback[0]), values['style-weight'] ?? String(fallback[1])] : undefined;
  if (!texts) return [...fallback];
  if (texts.length !== count) throw new UsageError(`--weights needs one weight per input: ${count} numbers separated by commas (got ${texts.length})`);
  const weights = texts.map(numeric);
  const name = values.weights !== undefined ? '--weights' : '--content-weight and --style-weight';
  const problem = optionProblem('inputs', weights.map((weight) => ({ path: 'x', weight })), name, texts.join(','));
  if (problem) throw new UsageError(`${name} must be numbers from 0 to ${MAX_INPUT_WEIGHT}, one per input (got ${texts.join(',')})`);
  return weights;
}

/** `--block` rules, parsed and checked against the number of inputs (block-rules.ts). */
function blockRules(values: MergeFlags, count: number, fallback: readonly BlockRule[]): readonly BlockRule[] {
  if (!values.block) return fallback;
  let rules: BlockRule[];
  try {
    rules = values.block.map(parseBlockRule);
  } catch (error) {
    if (error instanceof BlockRuleSyntaxError) throw new UsageError(error.message);
    throw error;
  }
  const problems = blockRulesProblems(rules, count);
  if (problems.length) throw new UsageError(problems.map((p) => `--block ${p.replace(/^block rule /, '')}`).join('; '));
  return rules;
}

/**
 * The recipe's block rules for a merge of `count` files: all of them when the count is the recipe's; with another
 * count, the rules without weights (a method applies to any number of inputs), and weighted ones are refused
 * unless --block replaces them — never dropped in silence.
 */
function recipeBlocks(base: MergeRequest | undefined, count: number, replaced: boolean): readonly BlockRule[] {
  if (!base || replaced) return [];
  if (base.inputs.length === count) return base.blocks;
  const weighted = base.blocks.filter((rule) => rule.weights);
  if (weighted.length) throw new UsageError(`the recipe's block rules give weights for ${base.inputs.length} inputs (${weighted.map(formatBlockRule).join(', ')}) and ${count} files are given: give --block rules for ${count} inputs`);
  return base.blocks;
}

const lambdaValue = (text: string) => (text.trim().toLowerCase() === 'auto' ? 'auto' : numeric(text));

/**
 * The request from the flags; with `--recipe`, the recipe's request (`base`) is the fallback of every option, and
 * files given as positionals replace its inputs.
 */
function requestOf(values: MergeFlags, positionals: readonly string[], base?: MergeRequest): MergeRequest {
  const d = { ...DEFAULT_MERGE_OPTIONS, ...base };
  const files = positionals.length ? [...positionals] : (base?.inputs.map((input) => input.path) ?? []);
  if (files.length < MIN_INPUTS || files.length > MAX_INPUTS) {
    throw new UsageError(`merge takes ${MIN_INPUTS} to ${MAX_INPUTS} LoRA files (got ${files.length})${base ? '' : ', or --recipe FILE'}`);
  }
  if (base && positionals.length && positionals.length !== base.inputs.length && values.weights === undefined && base.inputs.some((i) => i.weight !== 1)) {
    throw new UsageError(`the recipe weighs ${base.inputs.length} inputs and ${positionals.length} files were given: give --weights for them`);
  }
  const fallbackWeights = base && base.inputs.length === files.length ? base.inputs.map((i) => i.weight) : files.map(() => 1);
  const weights = inputWeights(values, files.length, fallbackWeights);
  const output = values.output ?? base?.output;
  if (!output) throw new UsageError('merge needs an output path: -o OUT.safetensors');
  const request: MergeRequest = {
    inputs: files.map((file, i) => ({ path: file, weight: weights[i] })),
    output: flag('output', '-o', values.output, output, String),
    method: flag('method', '--method', values.method, d.method, word(MERGE_METHODS)),
    solver: flag('solver', '--solver', values.solver, d.solver, word(SOLVERS)),
    steps: flag('steps', '--steps', values.steps, d.steps, numeric),
    lambda: flag('lambda', '--lambda', values.lambda, d.lambda, lambdaValue),
    learningRate: flag('learningRate', '--lr', values.lr, d.learningRate, numeric),
    columns: flag('columns', '--columns', values.columns, d.columns, word(COLUMN_MODES)),
    backend: flag('backend', '--backend', values.backend, d.backend, word(BACKEND_NAMES)),
    rank: flag('rank', '--rank', values.rank, base?.rank, numeric),
    rankEnergy: flag('rankEnergy', '--rank-energy', values['rank-energy'], base?.rankEnergy, numeric),
    dtype: flag('dtype', '--dtype', values.dtype, d.dtype, word(OUTPUT_DTYPES)),
    naming: flag('naming', '--naming', values.naming, d.naming, word(OUTPUT_NAMINGS)),
    blocks: blockRules(values, files.length, recipeBlocks(base, files.length, values.block !== undefined)),
    overwrite: Boolean(values.force) || (base?.overwrite ?? false),
    sparsityThreshold: d.sparsityThreshold,
    threads: flag('threads', '--threads', values.threads, d.threads, numeric),
    ...(values['allow-mixed-experts'] || base?.allowMixedExperts ? { allowMixedExperts: true } : {}),
  };
  if (request.naming === 'style' && files.length !== 2) throw new UsageError(`--naming style names the second of two inputs; with ${files.length}, use first, kohya or diffusers`);
  const overridden = base && (positionals.length > 0 || Object.keys(values).some((key) => !['recipe', 'report', 'json', 'force', 'backend', 'threads'].includes(key)));
  // A recipe run as it is travels into the output's metadata; one changed by flags is written as what was run.
  return base?.recipe && !overridden ? { ...request, recipe: base.recipe } : request;
}

/** The merge's flags; `recipe` is the request of the `--recipe` file, read already (readMergeArgs). */
export function parseMergeArgs(args: string[], recipe?: MergeRequest): { request: MergeRequest; json: boolean; report?: string; experts: boolean } {
  const { values, positionals } = parseFlags(args);
  if (values.recipe !== undefined && !recipe) throw new Error('internal error: --recipe is read by readMergeArgs');
  const request = requestOf(values, positionals, recipe);
  refuseInapplicable(values, request);
  if (values.report !== undefined && !/\.html?$/i.test(values.report)) throw new UsageError(`--report must end in .html (got "${values.report}")`);
  const experts = Boolean(values.experts);
  const problem = experts ? expertsOptionProblem(request, values.report) : undefined;
  if (problem) throw new UsageError(problem);
  return { request, json: Boolean(values.json), report: values.report, experts };
}

/** parseMergeArgs after reading the `--recipe` file, if any. */
export async function readMergeArgs(args: string[]): Promise<ReturnType<typeof parseMergeArgs>> {
  const { values } = parseFlags(args);
  // A recipe's problems are the file's (a RecipeError: exit status 1), each line naming the file, the JSON path and what to do.
  return parseMergeArgs(args, values.recipe !== undefined ? await loadRecipeRequest(values.recipe) : undefined);
}

export async function runMergeCommand(args: string[], out: (text: string) => void): Promise<void> {
  const { request, json, report, experts } = await readMergeArgs(args);
  if (experts) return runExpertMerges(request, json, out);
  const summary = await runOneMerge(request, json);
  if (report) await writeReport(summary.sidecar, report, request.overwrite);
  out(json ? JSON.stringify(summaryObject(summary), null, 2) : renderMergeSummary(summary) + (report ? `\nReport       ${report}` : ''));
}

/** The summary as `--json` prints it: the per-layer reports under `layerReports`. */
const summaryObject = (summary: MergeSummary) => ({ ...summary, reports: undefined, layerReports: summary.reports });

/** One merge per expert, one after the other; each summary headed by its expert (JSON: `{ experts: { EXPERT: summary } }`). */
async function runExpertMerges(request: MergeRequest, json: boolean, out: (text: string) => void): Promise<void> {
  const merges = await expertMerges(request);
  const summaries: [string, MergeSummary][] = [];
  for (const merge of merges) summaries.push([merge.expert, await runOneMerge(merge.request, json)]);
  if (json) out(JSON.stringify({ experts: Object.fromEntries(summaries.map(([expert, s]) => [expert, summaryObject(s)])) }, null, 2));
  else out(summaries.map(([expert, s]) => `${expert} expert (${merges.find((m) => m.expert === expert)!.request.inputs.map((i) => path.basename(i.path)).join(' + ')})\n${renderMergeSummary(s)}`).join('\n\n'));
}

/** Runs one merge in the worker, with the progress bar and Ctrl-C. */
async function runOneMerge(request: MergeRequest, json: boolean): Promise<MergeSummary> {
  const bar = new ProgressBar('merge');
  const tracker = new MergeProgressTracker();
  // Ctrl-C (or a SIGTERM) aborts the merge's cancellation token: the worker stops and removes what it staged.
  const interrupt = new AbortController();
  const running = startMerge(
    request,
    {
      onStart: (start) => {
        if (!json && process.stderr.isTTY)
          process.stderr.write(`backend ${start.backend} on ${start.device}, ${start.threads} compute thread${start.threads === 1 ? '' : 's'}; ${start.merged} layers to merge\n`);
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
  try {
    return await running.result;
  } finally {
    bar.done();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}
