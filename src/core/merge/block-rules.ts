/**
 * Weights and methods per network block: the CLI's `--block` syntax, the checks every caller shares (CLI, recipe,
 * worker), and what the rules say for one module. Blocks are the names the charts show (`blockOf(module).name`
 * from network-blocks.ts), so what a user reads in the editor is what they type here.
 *
 * Syntax: `PATTERN=W1,W2,…` (a weight per input), `PATTERN:METHOD` (zip, direct or skip), or both,
 * `PATTERN:METHOD=W1,W2,…`. PATTERN is a block name, a prefix of block names (`unet.up_blocks` applies to every
 * block named `unet.up_blocks` or starting with `unet.up_blocks.`), or ends in an index range `A-B`
 * (`transformer.single_transformer_blocks.0-19`). Later rules override earlier ones field by field.
 */
import { blockOf } from '../lora/network-blocks';

/**
 * What a block does in the merge: `zip` solves ZipLoRA coefficients, `direct` writes the sum of the weighted deltas
 * (the m = 1 solution, no solve), `skip` leaves the block out of the output. (Re-exported by request.ts.)
 */
export const BLOCK_METHODS = ['zip', 'direct', 'skip'] as const;
export type BlockMethod = (typeof BLOCK_METHODS)[number];

/** Weights and method for the blocks a pattern names (a MergeRequest's `blocks`, a recipe's `blocks`). */
export interface BlockRule {
  /** A block name (`unet.mid_block`), a prefix of block names (`unet.up_blocks`) or an index range (`transformer.single_blocks.0-19`). */
  readonly block: string;
  /** One per input, each in [0, 4]: scales that input's ΔW in the matched blocks; 0 leaves the input out there. */
  readonly weights?: readonly number[];
  readonly method?: BlockMethod;
}

/** A block weight above this is almost surely a typo (a LoRA's usual strength is 0 to 1.5). */
export const MAX_BLOCK_WEIGHT = 4;

/** A malformed `--block` text; the message says what the syntax is. */
export class BlockRuleSyntaxError extends Error {}

const SYNTAX = 'PATTERN=W1,W2,… or PATTERN:zip|direct|skip (or both, PATTERN:direct=W1,W2,…)';
const SEGMENT = /^[A-Za-z0-9_]+$/;
const RANGE = /^(\d+)-(\d+)$/;

/** A pattern split into the segments it must equal and, when it ends in `A-B`, that range for the next segment. */
interface Pattern {
  readonly prefix: readonly string[];
  readonly range?: { readonly from: number; readonly to: number };
}

/** What is wrong with a block pattern, or undefined when it is well formed. */
export function blockPatternProblem(block: string): string | undefined {
  if (typeof block !== 'string') return `the block must be a block name such as unet.mid_block, in quotes (got ${JSON.stringify(block)})`;
  if (block.trim() === '') return 'the block must be a block name such as unet.mid_block (it is empty)';
  const segments = block.split('.');
  const last = segments[segments.length - 1];
  const range = RANGE.exec(last);
  if (range && segments.length === 1) return `the index range ${last} needs the blocks it counts in front of it, such as transformer.single_blocks.${last}`;
  if (range && Number(range[1]) > Number(range[2])) return `the index range ${last} in "${block}" runs backwards: write it as ${range[2]}-${range[1]}`;
  const bad = segments.find((segment, i) => !SEGMENT.test(segment) && !(i === segments.length - 1 && range));
  if (bad !== undefined) {
    return `"${block}" is not a block name: use the names the charts show, dot-separated letters, digits and _ (such as unet.down_blocks.1), with an optional index range at the end (0-19)`;
  }
  return undefined;
}

function compilePattern(block: string): Pattern {
  const segments = block.split('.');
  const range = RANGE.exec(segments[segments.length - 1]);
  if (!range) return { prefix: segments };
  return { prefix: segments.slice(0, -1), range: { from: Number(range[1]), to: Number(range[2]) } };
}

/** Whether a rule's pattern names block `blockName` (equal to it, a prefix of it at a dot, or its index in range). */
export function patternMatches(block: string, blockName: string): boolean {
  const pattern = compilePattern(block);
  const segments = blockName.split('.');
  const length = pattern.prefix.length + (pattern.range ? 1 : 0);
  if (segments.length < length) return false;
  for (let i = 0; i < pattern.prefix.length; i++) if (segments[i] !== pattern.prefix[i]) return false;
  if (!pattern.range) return true;
  const index = segments[pattern.prefix.length];
  if (!/^\d+$/.test(index)) return false;
  return Number(index) >= pattern.range.from && Number(index) <= pattern.range.to;
}

/** Parses one `--block` text; throws BlockRuleSyntaxError saying what is malformed. Weight ranges are checked by blockRuleProblems. */
export function parseBlockRule(text: string): BlockRule {
  const equals = text.indexOf('=');
  const head = (equals < 0 ? text : text.slice(0, equals)).trim();
  const colon = head.indexOf(':');
  const block = (colon < 0 ? head : head.slice(0, colon)).trim();
  const patternProblem = blockPatternProblem(block);
  if (patternProblem) throw new BlockRuleSyntaxError(`--block ${text}: ${patternProblem}`);
  let method: BlockMethod | undefined;
  if (colon >= 0) {
    const word = head.slice(colon + 1).trim().toLowerCase();
    if (!(BLOCK_METHODS as readonly string[]).includes(word)) throw new BlockRuleSyntaxError(`--block ${text}: the method must be one of ${BLOCK_METHODS.join(', ')} (got "${head.slice(colon + 1).trim()}")`);
    method = word as BlockMethod;
  }
  let weights: number[] | undefined;
  if (equals >= 0) {
    const parts = text.slice(equals + 1).split(',').map((part) => part.trim());
    const bad = parts.find((part) => part === '' || !Number.isFinite(Number(part)));
    if (bad !== undefined) throw new BlockRuleSyntaxError(`--block ${text}: the weights must be numbers separated by commas, one per input (got "${bad}")`);
    weights = parts.map(Number);
  }
  if (method === undefined && weights === undefined) throw new BlockRuleSyntaxError(`--block ${text}: give weights or a method: ${SYNTAX}`);
  return { block, ...(weights ? { weights } : {}), ...(method ? { method } : {}) };
}

/** The `--block` text of a rule (parseBlockRule's inverse). */
export function formatBlockRule(rule: BlockRule): string {
  return `${rule.block}${rule.method ? `:${rule.method}` : ''}${rule.weights ? `=${rule.weights.join(',')}` : ''}`;
}

/** One problem of a rule, tied to its field (and weight index) so a recipe can point at the JSON node. */
export interface BlockRuleProblem {
  readonly field: 'block' | 'weights' | 'method';
  /** 0-based index into `weights` when one weight is at fault. */
  readonly index?: number;
  readonly message: string;
}

/** Everything wrong with a rule for a merge of `inputCount` inputs (empty when it is valid). */
export function blockRuleProblems(rule: BlockRule, inputCount: number): BlockRuleProblem[] {
  const problems: BlockRuleProblem[] = [];
  const patternProblem = blockPatternProblem(rule.block);
  if (patternProblem) problems.push({ field: 'block', message: patternProblem });
  if (rule.method !== undefined && !(BLOCK_METHODS as readonly string[]).includes(rule.method)) {
    problems.push({ field: 'method', message: `the block method must be one of ${BLOCK_METHODS.join(', ')} (got ${JSON.stringify(rule.method)})` });
  }
  if (rule.weights !== undefined) {
    if (!Array.isArray(rule.weights)) problems.push({ field: 'weights', message: `the block weights must be a list of ${inputCount} numbers, one per input` });
    else {
      if (rule.weights.length !== inputCount) {
        problems.push({ field: 'weights', message: `give one weight per input: ${inputCount} numbers (got ${rule.weights.length})` });
      }
      rule.weights.forEach((weight, index) => {
        if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > MAX_BLOCK_WEIGHT) {
          problems.push({ field: 'weights', index, message: `the weight of input ${index + 1} must be a number from 0 to ${MAX_BLOCK_WEIGHT} (got ${JSON.stringify(weight)})` });
        }
      });
    }
  }
  if (rule.weights === undefined && rule.method === undefined) problems.push({ field: 'block', message: 'the rule sets nothing: give weights (one per input) or a method (zip, direct or skip)' });
  return problems;
}

/** Every problem of a list of rules as one line each, naming the rule in its `--block` form. */
export function blockRulesProblems(rules: readonly BlockRule[], inputCount: number): string[] {
  return rules.flatMap((rule) => blockRuleProblems(rule, inputCount).map((problem) => `block rule ${formatBlockRule(rule)}: ${problem.message}`));
}

export interface BlockSettings {
  /** One per input: the block weight (1 where no rule sets one); the input's own strength is applied separately. */
  readonly weights: number[];
  readonly method: BlockMethod;
}

/**
 * What the rules say for one module: start from weight 1 for every input and `defaultMethod` (`zip` for a
 * ZipLoRA merge, `direct` for a direct one), then apply each matching rule in order, field by field.
 * `module` may be several names of one layer (a merged group's, each input's in its own naming: a Flux layer is
 * `transformer.double_blocks.7…` in one file and `transformer.transformer_blocks.7…` in another); a rule
 * applies when it matches the block of any of them. The rules must have passed blockRuleProblems for `inputCount`.
 */
export function blockSettingsFor(module: string | readonly string[], rules: readonly BlockRule[], inputCount: number, defaultMethod: BlockMethod = 'zip'): BlockSettings {
  const names = [...new Set((typeof module === 'string' ? [module] : module).map((m) => blockOf(m).name))];
  let weights: number[] = new Array<number>(inputCount).fill(1);
  let method = defaultMethod;
  for (const rule of rules) {
    if (!names.some((name) => patternMatches(rule.block, name))) continue;
    if (rule.weights) {
      // A silent mismatch would weight the wrong inputs: the callers validate first, so this is a bug if reached.
      if (rule.weights.length !== inputCount) throw new Error(`block rule ${formatBlockRule(rule)} has ${rule.weights.length} weights for ${inputCount} inputs`);
      weights = [...rule.weights];
    }
    if (rule.method) method = rule.method;
  }
  return { weights, method };
}

/** Indices of the rules whose pattern matches none of `knownBlockNames`. */
export function unmatchedRules(rules: readonly BlockRule[], knownBlockNames: Iterable<string>): number[] {
  const known = [...new Set(knownBlockNames)];
  return rules.flatMap((rule, index) => (known.some((name) => patternMatches(rule.block, name)) ? [] : [index]));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

/** Known names that look closest to a pattern: block names and their containers (`unet.up_blocks`), by edit distance. */
export function nearestBlockNames(block: string, knownBlockNames: Iterable<string>, count = 3): string[] {
  const candidates = new Set<string>();
  for (const name of knownBlockNames) {
    const segments = name.split('.');
    for (let i = 1; i <= segments.length; i++) candidates.add(segments.slice(0, i).join('.'));
  }
  // A range is compared by its container: `single_blocks.40-50` is nearest to `single_blocks`, whatever its indices.
  const pattern = compilePattern(block);
  const target = pattern.range ? pattern.prefix.join('.') : block;
  return [...candidates]
    .map((name) => ({ name, distance: editDistance(target, name) }))
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name, 'en', { numeric: true }))
    .slice(0, count)
    .map((c) => c.name);
}

/** The indices a container's blocks have among the known names (`0–37`), for a range that matched none. */
function indicesOf(container: string, knownBlockNames: readonly string[]): string | undefined {
  const depth = container.split('.').length;
  const indices = knownBlockNames
    .filter((name) => name.startsWith(`${container}.`))
    .map((name) => name.split('.')[depth])
    .filter((segment) => /^\d+$/.test(segment))
    .map(Number);
  if (indices.length === 0) return undefined;
  return `${Math.min(...indices)}–${Math.max(...indices)}`;
}

/** Why a rule matches no block, with the nearest known names: the one line shown for it. */
export function unknownBlockMessage(rule: BlockRule, knownBlockNames: Iterable<string>): string {
  const known = [...new Set(knownBlockNames)];
  const pattern = compilePattern(rule.block);
  if (pattern.range) {
    const container = pattern.prefix.join('.');
    const indices = indicesOf(container, known);
    if (indices) return `${rule.block} matches no block of the inputs: ${container} has blocks ${indices}`;
  }
  const nearest = nearestBlockNames(rule.block, known);
  if (nearest.length === 0) return `${rule.block} matches no block of the inputs: they have no layers`;
  return `${rule.block} matches no block of the inputs: use a block name the charts show; the nearest are ${nearest.join(', ')}`;
}

/** One line per rule that matches no block of the inputs, naming the rule and the nearest known block names. */
export function unknownBlockProblems(rules: readonly BlockRule[], knownBlockNames: Iterable<string>): string[] {
  const known = [...new Set(knownBlockNames)];
  return unmatchedRules(rules, known).map((index) => `block rule ${formatBlockRule(rules[index])}: ${unknownBlockMessage(rules[index], known)}`);
}
