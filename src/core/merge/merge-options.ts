/**
 * The merge's options and the rule each value must follow, for every caller: the worker's request, the
 * extension's command arguments and settings, and the CLI's flags. One table, so each option is checked
 * the same way and refused with the same words wherever it comes from.
 */
import { BACKEND_NAMES } from './backends';
import { blockRulesProblems } from './block-rules';
import { COLUMN_MODES, SOLVERS, SolverName } from './types';
import { BLOCK_METHODS, MAX_INPUTS, MERGE_METHODS, MergeMethod, MergeRequest, MIN_INPUTS, OUTPUT_DTYPES, OUTPUT_NAMINGS } from './request';

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
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An input's strength above this is almost surely a typo (a LoRA's usual strength is 0 to 1.5); as block-rules' MAX_BLOCK_WEIGHT. */
export const MAX_INPUT_WEIGHT = 4;

const isWeight = (v: unknown) => isNumber(v) && v >= 0 && v <= MAX_INPUT_WEIGHT;
const isInput = (v: unknown) => isObject(v) && filePath.valid(v.path) && isWeight(v.weight) && Object.keys(v).every((k) => k === 'path' || k === 'weight');
/** The shape of a block rule; its pattern, weight count and range against the inputs are block-rules.ts' checks. */
const isBlockRule = (v: unknown) =>
  isObject(v) &&
  typeof v.block === 'string' &&
  (v.weights === undefined || (Array.isArray(v.weights) && v.weights.every(isNumber))) &&
  (v.method === undefined || (BLOCK_METHODS as readonly string[]).includes(v.method as string)) &&
  Object.keys(v).every((k) => k === 'block' || k === 'weights' || k === 'method');

export const MERGE_OPTION_RULES: { readonly [K in keyof MergeRequest]-?: OptionRule } = {
  inputs: {
    expected: `a list of ${MIN_INPUTS} to ${MAX_INPUTS} inputs { path, weight } with weights from 0 to ${MAX_INPUT_WEIGHT}`,
    valid: (v) => Array.isArray(v) && v.length >= MIN_INPUTS && v.length <= MAX_INPUTS && v.every(isInput),
  },
  output: { expected: 'a file path ending in .safetensors', valid: (v) => filePath.valid(v) && (v as string).toLowerCase().endsWith('.safetensors') },
  method: oneOf(MERGE_METHODS),
  solver: oneOf(SOLVERS),
  steps: { expected: 'an integer from 0 to 100000', valid: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100_000 },
  lambda: { expected: 'a number ≥ 0 or "auto"', valid: (v) => v === 'auto' || (isNumber(v) && v >= 0) },
  learningRate: { expected: 'a number > 0', valid: (v) => isNumber(v) && v > 0 },
  columns: oneOf(COLUMN_MODES),
  backend: oneOf(BACKEND_NAMES),
  rank: { expected: 'an integer ≥ 1', valid: (v) => Number.isInteger(v) && (v as number) >= 1 },
  rankEnergy: { expected: 'a number > 0 and ≤ 1 (the share of ‖ΔW‖² kept, e.g. 0.99)', valid: (v) => isNumber(v) && v > 0 && v <= 1 },
  dtype: oneOf(OUTPUT_DTYPES),
  naming: oneOf(OUTPUT_NAMINGS),
  blocks: { expected: 'a list of block rules { block, weights?, method? }', valid: (v) => Array.isArray(v) && v.every(isBlockRule) },
  overwrite: { expected: 'true or false', valid: (v) => typeof v === 'boolean' },
  sparsityThreshold: { expected: 'a number from 0 to 1', valid: (v) => isNumber(v) && v >= 0 && v <= 1 },
  threads: { expected: `an integer from 0 (one per core) to ${MAX_THREADS}`, valid: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_THREADS },
  recipe: { expected: 'a recipe object', valid: isObject },
  allowMixedExperts: { expected: 'true or false', valid: (v) => typeof v === 'boolean' },
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
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['the merge options must be an object like { inputs, output }'];
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

/** Options a whole request may leave out. */
const OPTIONAL_KEYS: readonly MergeOptionKey[] = ['rank', 'rankEnergy', 'recipe', 'allowMixedExperts'];

/**
 * A whole request that crossed a process boundary (the worker's input): every option but the optional ones is
 * present, and the block rules fit the inputs (block-rules.ts).
 */
export function validateMergeRequest(value: unknown): string[] {
  const problems = validateMergeOptions(value, MERGE_OPTION_KEYS, MERGE_OPTION_KEYS.filter((key) => !OPTIONAL_KEYS.includes(key)));
  if (problems.length) return problems;
  const request = value as MergeRequest;
  const naming = namingProblem(request.naming, request.inputs.length);
  return [...(naming ? [naming] : []), ...blockRulesProblems(request.blocks, request.inputs.length)];
}

/** `style` names the second of two inputs: with more, which one it means is a guess, so it is refused. */
export function namingProblem(naming: unknown, inputCount: number): string | undefined {
  return naming === 'style' && inputCount !== 2 ? `naming "style" names the second of two inputs; with ${inputCount}, use first, content, kohya or diffusers` : undefined;
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
 * ignored in silence. `columns` applies to the direct merge too (the axis its report measures overlap on); the
 * inputs' weights and the block rules apply to both methods (a weight scales an input's ΔW before either merge).
 */
export const OPTION_APPLIES_TO: { readonly [K in MergeOptionKey]-?: Applicability } = {
  inputs: EVERY_MERGE,
  output: EVERY_MERGE,
  method: EVERY_MERGE,
  solver: ZIPLORA_ONLY,
  steps: ADAM_ONLY,
  lambda: ZIPLORA_ONLY,
  learningRate: ADAM_ONLY,
  columns: EVERY_MERGE,
  backend: EVERY_MERGE,
  rank: EVERY_MERGE,
  rankEnergy: EVERY_MERGE,
  dtype: EVERY_MERGE,
  naming: EVERY_MERGE,
  blocks: EVERY_MERGE,
  overwrite: EVERY_MERGE,
  sparsityThreshold: EVERY_MERGE,
  threads: EVERY_MERGE,
  recipe: EVERY_MERGE,
  allowMixedExperts: EVERY_MERGE,
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
