/**
 * The merge command's arguments and settings, without VS Code: validation of what other extensions and tests
 * pass, defaults from the `ziplora.*` settings, and the default output path.
 */
import path from 'node:path';
import { BackendName } from '../core/merge/backends';
import { inapplicableOptions, MERGE_OPTION_RULES, MergeOptionKey, validateMergeOptions } from '../core/merge/merge-options';
import { DEFAULT_MERGE_OPTIONS, MergeInput, MergeRequest, OutputDtype, sidecarPathFor } from '../core/merge/request';
import { ColumnMode, LambdaSetting, SolverName } from '../core/merge/types';

export interface MergeSettings {
  readonly backend: BackendName;
  readonly solver: SolverName;
  readonly steps: number;
  readonly lambda: LambdaSetting;
  readonly learningRate: number;
  readonly columns: ColumnMode;
  readonly outputDtype: OutputDtype;
  /** 0 keeps the full rank. */
  readonly outputRank: number;
  /** 0 keeps every direction; else the share of ‖ΔW‖² each merged layer keeps (`--rank-energy`). */
  readonly outputRankEnergy: number;
  readonly sparsityThreshold: number;
  /** 0 = one per available core. */
  readonly threads: number;
}

/** The `ziplora.*` setting behind each option that has one. */
const SETTING_OF: Partial<Record<MergeOptionKey, string>> = {
  solver: 'solver', steps: 'steps', lambda: 'lambda', learningRate: 'learningRate', columns: 'columns', backend: 'backend',
  dtype: 'outputDtype', rank: 'outputRank', rankEnergy: 'outputRankEnergy', sparsityThreshold: 'sparsityThreshold', threads: 'threads',
};

/** Reads the settings through `get` (VS Code's configuration), falling back to the defaults on bad values. */
export function readMergeSettings(get: (key: string) => unknown): MergeSettings {
  // A setting is read under its name in SETTING_OF and checked by the rule of the option it feeds (merge-options.ts).
  const pick = <T>(option: MergeOptionKey, fallback: T): T => {
    const value = get(SETTING_OF[option]!);
    return MERGE_OPTION_RULES[option].valid(value) ? (value as T) : fallback;
  };
  const d = DEFAULT_MERGE_OPTIONS;
  return {
    backend: pick('backend', d.backend),
    solver: pick('solver', d.solver),
    steps: pick('steps', d.steps),
    lambda: pick('lambda', d.lambda),
    learningRate: pick('learningRate', d.learningRate),
    columns: pick('columns', d.columns),
    outputDtype: pick('dtype', d.dtype),
    // 0 (the default) keeps the full rank.
    outputRank: get(SETTING_OF.rank!) === 0 ? 0 : pick('rank', 0),
    outputRankEnergy: get(SETTING_OF.rankEnergy!) === 0 ? 0 : pick('rankEnergy', 0),
    sparsityThreshold: pick('sparsityThreshold', d.sparsityThreshold),
    threads: pick('threads', d.threads),
  };
}

/**
 * The options `ziplora.mergeLoras` accepts from other extensions and tests; with two or more inputs, no prompt.
 * `content` and `style` are the two-input spelling (= inputs 1 and 2, weight 1), kept for callers of two-way merges.
 */
const COMMAND_ARG_KEYS = ['inputs', 'output', 'method', 'solver', 'steps', 'lambda', 'learningRate', 'columns', 'backend', 'rank', 'rankEnergy', 'dtype', 'naming', 'blocks', 'overwrite', 'threads'] as const;
export type MergeCommandArgs = Partial<Pick<MergeRequest, (typeof COMMAND_ARG_KEYS)[number]>> & { readonly content?: string; readonly style?: string };

const isFile = (value: unknown) => typeof value === 'string' && value.length > 0;

/** Checks an argument object from outside; the problems in words (empty when it is fine). */
export function validateMergeCommandArgs(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return validateMergeOptions(value, COMMAND_ARG_KEYS);
  const { content, style, ...rest } = value as Record<string, unknown>;
  const problems: string[] = [];
  if (content !== undefined && !isFile(content)) problems.push(`content must be a file path (got ${JSON.stringify(content)})`);
  if (style !== undefined && !isFile(style)) problems.push(`style must be a file path (got ${JSON.stringify(style)})`);
  if ((content !== undefined || style !== undefined) && rest.inputs !== undefined) problems.push('give the inputs once: inputs, or content and style');
  return [...problems, ...validateMergeOptions(rest, COMMAND_ARG_KEYS)];
}

/** The inputs the arguments name: `inputs`, or `content` and `style` (weight 1 each); the files only, in order. */
export function givenInputs(args: MergeCommandArgs): MergeInput[] {
  if (args.inputs) return [...args.inputs];
  return [args.content, args.style].filter((file): file is string => file !== undefined).map((file) => ({ path: file, weight: 1 }));
}

/**
 * `A+B+C.safetensors` beside the first input, numbered if that name (or its sidecar) is taken. Never a
 * `.ziplora.safetensors` name: that suffix is the sidecar's.
 */
export function defaultOutputPath(files: readonly string[], exists: (file: string) => boolean): string {
  const stem = (file: string) => path.basename(file).replace(/\.safetensors$/i, '');
  const base = path.join(path.dirname(files[0]), files.map(stem).join('+'));
  for (let n = 1; ; n++) {
    const candidate = `${base}${n === 1 ? '' : `-${n}`}.safetensors`;
    if (!exists(candidate) && !exists(sidecarPathFor(candidate))) return candidate;
  }
}

export function buildMergeRequest(args: MergeCommandArgs & { inputs: readonly MergeInput[]; output: string }, settings: MergeSettings): MergeRequest {
  const rank = args.rank ?? (settings.outputRank > 0 ? settings.outputRank : undefined);
  const rankEnergy = args.rankEnergy ?? (settings.outputRankEnergy > 0 ? settings.outputRankEnergy : undefined);
  return {
    ...DEFAULT_MERGE_OPTIONS,
    inputs: args.inputs,
    output: args.output,
    method: args.method ?? DEFAULT_MERGE_OPTIONS.method,
    solver: args.solver ?? settings.solver,
    steps: args.steps ?? settings.steps,
    lambda: args.lambda ?? settings.lambda,
    learningRate: args.learningRate ?? settings.learningRate,
    columns: args.columns ?? settings.columns,
    backend: args.backend ?? settings.backend,
    ...(rank !== undefined ? { rank } : {}),
    ...(rankEnergy !== undefined ? { rankEnergy } : {}),
    dtype: args.dtype ?? settings.outputDtype,
    naming: args.naming ?? DEFAULT_MERGE_OPTIONS.naming,
    blocks: args.blocks ?? [],
    overwrite: args.overwrite ?? false,
    sparsityThreshold: settings.sparsityThreshold,
    threads: args.threads ?? settings.threads,
  };
}

/** Settings the user set (`isSet`) that `request` does not use, in words, for a warning (merge-options.ts decides). */
export function inapplicableSettings(request: MergeRequest, isSet: (setting: string) => boolean): string[] {
  const set = (Object.keys(SETTING_OF) as MergeOptionKey[]).filter((key) => isSet(SETTING_OF[key]!));
  return inapplicableOptions(set, request, (key) => `the setting ziplora.${SETTING_OF[key]}`);
}

/** Command arguments given from outside that `request` does not use: refused, like the CLI's flags. */
export function inapplicableCommandArgs(args: MergeCommandArgs, request: MergeRequest): string[] {
  const given = (COMMAND_ARG_KEYS as readonly (keyof MergeCommandArgs)[]).filter((key) => args[key] !== undefined) as MergeOptionKey[];
  return inapplicableOptions(given, request);
}
