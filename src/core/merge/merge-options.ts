/**
 * The merge's options and the rule each value must follow, for every caller: the worker's request, the
 * extension's command arguments and settings, and the CLI's flags. One table, so each option is checked
 * the same way and refused with the same words wherever it comes from.
 */
import { BACKEND_NAMES } from './backends';
import { COLUMN_MODES, SOLVERS, SolverName } from './types';
import { MERGE_METHODS, MergeMethod, MergeRequest, OUTPUT_DTYPES, OUTPUT_NAMINGS } from './request';

export interface OptionRule {
  /** What a valid value is, in words: "<option> must be <expected>". */
  readonly expected: string;
  readonly valid: (value: unknown) => boolean;
}

/** More threads than this only adds memory: each holds its own tfjs engine. */
export const MAX_THREADS = 256;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const oneOf = (allowed: readonly string[]): OptionRule => ({ expected: `one of ${allowed.join(', ')}`, valid: (v) => allowed.includes(v as string) });
const filePath: OptionRule = { expected: 'a file path', valid: (v) => typeof v === 'string' && v.length > 0 };

export const MERGE_OPTION_RULES: { readonly [K in keyof MergeRequest]-?: OptionRule } = {
  content: filePath,
  style: filePath,
  output: { expected: 'a file path ending in .safetensors', valid: (v) => filePath.valid(v) && (v as string).toLowerCase().endsWith('.safetensors') },
  method: oneOf(MERGE_METHODS),
  solver: oneOf(SOLVERS),
  steps: { expected: 'an integer from 0 to 100000', valid: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100_000 },
  lambda: { expected: 'a number ≥ 0', valid: (v) => isNumber(v) && v >= 0 },
  learningRate: { expected: 'a number > 0', valid: (v) => isNumber(v) && v > 0 },
  columns: oneOf(COLUMN_MODES),
  backend: oneOf(BACKEND_NAMES),
  rank: { expected: 'an integer ≥ 1', valid: (v) => Number.isInteger(v) && (v as number) >= 1 },
  dtype: oneOf(OUTPUT_DTYPES),
  naming: oneOf(OUTPUT_NAMINGS),
  overwrite: { expected: 'true or false', valid: (v) => typeof v === 'boolean' },
  directWeights: { expected: 'two finite numbers', valid: (v) => Array.isArray(v) && v.length === 2 && v.every(isNumber) },
  sparsityThreshold: { expected: 'a number from 0 to 1', valid: (v) => isNumber(v) && v >= 0 && v <= 1 },
  threads: { expected: `an integer from 0 (one per core) to ${MAX_THREADS}`, valid: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_THREADS },
};

export type MergeOptionKey = keyof MergeRequest;
export const MERGE_OPTION_KEYS = Object.keys(MERGE_OPTION_RULES) as MergeOptionKey[];

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined || typeof value === 'function') return String(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * The problem with one option's value, or undefined when it is valid. `name` is what the caller calls the
 * option (`--lr` on the command line, `learningRate` elsewhere); `given` is what the user typed, when that
 * differs from the parsed value.
 */
export function optionProblem(key: MergeOptionKey, value: unknown, name: string = key, given: unknown = value): string | undefined {
  const rule = MERGE_OPTION_RULES[key];
  return rule.valid(value) ? undefined : `${name} must be ${rule.expected} (got ${shown(given)})`;
}

/**
 * Checks an object of merge options; returns the problems in words (empty when valid). Keys outside
 * `allowed` are refused; keys in `required` must be present; absent optional keys are fine.
 */
export function validateMergeOptions(value: unknown, allowed: readonly MergeOptionKey[], required: readonly MergeOptionKey[] = []): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['the merge options must be an object like { content, style, output }'];
  const options = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(options)) if (!(allowed as readonly string[]).includes(key)) problems.push(`unknown option "${key}"`);
  for (const key of allowed) {
    if (options[key] === undefined) {
      if (required.includes(key)) problems.push(`${key} is missing (it must be ${MERGE_OPTION_RULES[key].expected})`);
      continue;
    }
    const problem = optionProblem(key, options[key]);
    if (problem) problems.push(problem);
  }
  return problems;
}

/** A whole request that crossed a process boundary (the worker's input): every option but `rank` is present. */
export function validateMergeRequest(value: unknown): string[] {
  return validateMergeOptions(value, MERGE_OPTION_KEYS, MERGE_OPTION_KEYS.filter((key) => key !== 'rank'));
}

/** What decides whether an option means anything to a merge. */
export interface MergeKind {
  readonly method: MergeMethod;
  readonly solver: SolverName;
}

export interface Applicability {
  readonly applies: (merge: MergeKind) => boolean;
  /** What the option is used by, in words: "<option> applies only to <usedBy>". */
  readonly usedBy: string;
}

const ZIPLORA_ONLY: Applicability = { applies: (m) => m.method === 'ziplora', usedBy: 'the ziplora method' };
const ADAM_ONLY: Applicability = { applies: (m) => m.method === 'ziplora' && m.solver === 'adam', usedBy: 'the ziplora method with the adam solver' };
const EVERY_MERGE: Applicability = { applies: () => true, usedBy: 'every merge' };

/**
 * Which merges each option applies to: one table for the CLI's flags, the extension's settings and its command
 * arguments. An option the user gave that does not apply is refused (or, for a setting, warned about once), never
 * ignored in silence. `columns` applies to the direct merge too (the axis its report measures overlap on), and
 * the direct weights to ZipLoRA (the direct merge its report compares against).
 */
export const OPTION_APPLIES_TO: { readonly [K in MergeOptionKey]-?: Applicability } = {
  content: EVERY_MERGE,
  style: EVERY_MERGE,
  output: EVERY_MERGE,
  method: EVERY_MERGE,
  solver: ZIPLORA_ONLY,
  steps: ADAM_ONLY,
  lambda: ZIPLORA_ONLY,
  learningRate: ADAM_ONLY,
  columns: EVERY_MERGE,
  backend: EVERY_MERGE,
  rank: EVERY_MERGE,
  dtype: EVERY_MERGE,
  naming: EVERY_MERGE,
  overwrite: EVERY_MERGE,
  directWeights: EVERY_MERGE,
  sparsityThreshold: EVERY_MERGE,
  threads: EVERY_MERGE,
};

function kindInWords(merge: MergeKind): string {
  return merge.method === 'direct' ? 'is a direct merge' : `uses the ${merge.solver} solver`;
}

/**
 * Why an option the user gave does not apply to `merge`, or undefined when it does. `name` is what the caller
 * calls the option (`--lr`, `ziplora.learningRate`). Only for options the user chose: a default never does.
 */
export function inapplicableProblem(key: MergeOptionKey, merge: MergeKind, name: string = key): string | undefined {
  const rule = OPTION_APPLIES_TO[key];
  return rule.applies(merge) ? undefined : `${name} applies only to ${rule.usedBy}, and this merge ${kindInWords(merge)}`;
}

/** The problems of every given option that does not apply to `merge`, in the table's order. */
export function inapplicableOptions(given: Iterable<MergeOptionKey>, merge: MergeKind, nameOf: (key: MergeOptionKey) => string = (key) => key): string[] {
  const chosen = new Set(given);
  return MERGE_OPTION_KEYS.filter((key) => chosen.has(key))
    .map((key) => inapplicableProblem(key, merge, nameOf(key)))
    .filter((problem): problem is string => problem !== undefined);
}
