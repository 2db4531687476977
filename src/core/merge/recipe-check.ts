/**
 * The checks of a recipe file (`NAME.ziplora.json`) on its JSON tree, so that each problem points at the node
 * at fault: its JSON path for the CLI's one line (`blocks[0].weights[2]: …`) and its offset for the editor's
 * diagnostic. The option values follow the same rules as the CLI's flags and the worker's request
 * (merge-options.ts), in the same words; the block rules follow block-rules.ts. Checks that need the files
 * (an input that does not exist, a block no input has) are recipe-file.ts'.
 */
import { getNodeValue, Node, parseTree, ParseError, printParseErrorCode } from 'jsonc-parser';
import { blockRuleProblems } from './block-rules';
import { inapplicableProblem, MAX_INPUT_WEIGHT, MergeOptionKey, namingProblem, optionProblem } from './merge-options';
import { DEFAULT_MERGE_OPTIONS, MAX_INPUTS, MIN_INPUTS, MergeMethod } from './request';
import { SolverName } from './types';

/** One thing wrong with a recipe: where (JSON path and text span) and what to do. */
export interface RecipeProblem {
  /** `inputs[1].path`, `blocks[0].weights[2]`, `lambda`; empty for the document as a whole. */
  readonly jsonPath: string;
  readonly message: string;
  /** The span of the offending JSON node (a key for an unknown key) in the text. */
  readonly offset: number;
  readonly length: number;
}

/** The recipe's option keys, in the order a written recipe lists them; each follows its merge-options.ts rule. */
export const RECIPE_OPTION_KEYS = ['output', 'method', 'solver', 'lambda', 'steps', 'learningRate', 'columns', 'rank', 'rankEnergy', 'naming', 'dtype', 'allowMixedExperts'] as const satisfies readonly MergeOptionKey[];
export type RecipeOptionKey = (typeof RECIPE_OPTION_KEYS)[number];
/** Every key a recipe may have at its top level. `$schema` lets other editors find the schema. */
export const RECIPE_KEYS = ['$schema', 'inputs', ...RECIPE_OPTION_KEYS, 'blocks'] as const;
const INPUT_KEYS = ['path', 'weight'] as const;
const BLOCK_KEYS = ['block', 'weights', 'method'] as const;

type PathSegment = string | number;

/** `inputs[1].path` from ['inputs', 1, 'path']; keys that are not identifiers are quoted (`["$schema"]`). */
export function formatJsonPath(segments: readonly PathSegment[]): string {
  return segments
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment) ? `${i ? '.' : ''}${segment}` : `[${JSON.stringify(segment)}]`))
    .join('');
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

/** "remove it, or did you mean "lambda"?" — a suggestion only when one known key is close. */
function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = known.map((k) => ({ k, d: editDistance(key, k) })).sort((a, b) => a.d - b.d)[0];
  const hint = near && near.d <= Math.max(2, Math.floor(key.length / 3)) ? `rename it to "${near.k}" or remove it` : `remove it (the keys here are ${known.join(', ')})`;
  return `unknown key "${key}": ${hint}`;
}

class Checker {
  readonly problems: RecipeProblem[] = [];

  report(segments: readonly PathSegment[], node: Pick<Node, 'offset' | 'length'>, message: string): void {
    this.problems.push({ jsonPath: formatJsonPath(segments), message, offset: node.offset, length: node.length });
  }

  /** The object's properties by key, reporting keys outside `known` and duplicate keys. */
  properties(node: Node, segments: readonly PathSegment[], known: readonly string[]): Map<string, Node> {
    const found = new Map<string, Node>();
    for (const property of node.children ?? []) {
      const [keyNode, valueNode] = property.children ?? [];
      if (!keyNode || !valueNode) continue;
      const key = String(keyNode.value);
      if (!known.includes(key)) this.report([...segments, key], keyNode, unknownKeyMessage(key, known));
      else if (found.has(key)) this.report([...segments, key], keyNode, `"${key}" is given twice: keep one`);
      else found.set(key, valueNode);
    }
    return found;
  }

  /** Reports `key` missing from `node` (pointing at the object's opening brace, not its whole span). */
  missing(segments: readonly PathSegment[], node: Node, key: string, what: string): void {
    this.report([...segments, key], { offset: node.offset, length: 1 }, `"${key}" is missing: add ${what}`);
  }

  inputs(node: Node | undefined, root: Node): number | undefined {
    if (!node) {
      this.missing([], root, 'inputs', `the list of ${MIN_INPUTS} to ${MAX_INPUTS} LoRA files to merge, [{ "path": "a.safetensors" }, { "path": "b.safetensors" }]`);
      return undefined;
    }
    if (node.type !== 'array') {
      this.report(['inputs'], node, `inputs must be a list of ${MIN_INPUTS} to ${MAX_INPUTS} inputs like { "path": "a.safetensors", "weight": 1 }`);
      return undefined;
    }
    const items = node.children ?? [];
    if (items.length < MIN_INPUTS || items.length > MAX_INPUTS) this.report(['inputs'], node, `a merge takes ${MIN_INPUTS} to ${MAX_INPUTS} inputs (this recipe lists ${items.length}): ${items.length < MIN_INPUTS ? 'add' : 'remove'} some`);
    items.forEach((item, index) => {
      const at = ['inputs', index];
      if (item.type !== 'object') {
        this.report(at, item, 'each input must be an object like { "path": "a.safetensors", "weight": 1 }');
        return;
      }
      const properties = this.properties(item, at, INPUT_KEYS);
      const path = properties.get('path');
      if (!path) this.missing(at, item, 'path', 'the LoRA file\'s path, relative to the recipe\'s folder');
      else if (path.type !== 'string' || path.value === '') this.report([...at, 'path'], path, 'path must be the LoRA file\'s path, relative to the recipe\'s folder (a non-empty string)');
      const weight = properties.get('weight');
      if (weight && !(weight.type === 'number' && weight.value >= 0 && weight.value <= MAX_INPUT_WEIGHT)) {
        this.report([...at, 'weight'], weight, `weight must be a number from 0 to ${MAX_INPUT_WEIGHT}, the input's strength (got ${JSON.stringify(getNodeValue(weight))})`);
      }
    });
    // With too few or too many inputs the block weights' count is no guide: it is not checked then.
    return items.length >= MIN_INPUTS && items.length <= MAX_INPUTS ? items.length : undefined;
  }

  blocks(node: Node | undefined, inputCount: number | undefined): void {
    if (!node) return;
    if (node.type !== 'array') {
      this.report(['blocks'], node, 'blocks must be a list of rules like { "block": "unet.mid_block", "weights": [1, 0.5] }');
      return;
    }
    (node.children ?? []).forEach((item, index) => {
      const at = ['blocks', index];
      if (item.type !== 'object') {
        this.report(at, item, 'each block rule must be an object like { "block": "unet.mid_block", "method": "direct" }');
        return;
      }
      const properties = this.properties(item, at, BLOCK_KEYS);
      const block = properties.get('block');
      const weights = properties.get('weights');
      const method = properties.get('method');
      if (!block) this.missing(at, item, 'block', 'a block name as the charts show it, such as "unet.mid_block"');
      const rule = { block: block ? getNodeValue(block) : '', weights: weights && getNodeValue(weights), method: method && getNodeValue(method) };
      // Without a valid list of inputs the weight count cannot be checked: count the rule's own weights as right.
      const count = inputCount ?? (Array.isArray(rule.weights) ? rule.weights.length : 0);
      for (const problem of blockRuleProblems(rule, count)) {
        if (problem.field === 'block' && !block) continue;
        const target = problem.field === 'block' ? block! : problem.field === 'method' ? method! : problem.index !== undefined ? weights!.children![problem.index] : weights!;
        this.report(problem.index !== undefined ? [...at, problem.field, problem.index] : [...at, problem.field], target, problem.message);
      }
    });
  }

  options(properties: Map<string, Node>, root: Node): void {
    const output = properties.get('output');
    if (!output) this.missing([], root, 'output', 'the merged file\'s path, relative to the recipe\'s folder, such as "merged.safetensors"');
    for (const key of RECIPE_OPTION_KEYS) {
      const node = properties.get(key);
      if (!node) continue;
      const problem = optionProblem(key, getNodeValue(node));
      if (problem) this.report([key], node, problem);
    }
    // An option the merge would not use is refused, as the CLI refuses its flag: never ignored in silence. Which
    // merge it is must be known first: with a bad method or solver, that problem alone is reported.
    const method = properties.get('method')?.value ?? DEFAULT_MERGE_OPTIONS.method;
    const solver = properties.get('solver')?.value ?? DEFAULT_MERGE_OPTIONS.solver;
    if (optionProblem('method', method) || optionProblem('solver', solver)) return;
    for (const key of RECIPE_OPTION_KEYS) {
      const node = properties.get(key);
      if (!node || key === 'method') continue;
      const problem = inapplicableProblem(key, { method: method as MergeMethod, solver: solver as SolverName });
      if (problem) this.report([key], node, `${problem}: remove it`);
    }
  }
}

/** The parsed recipe's tree and value, with every problem found on it (none means the value is a valid recipe). */
export interface CheckedRecipe {
  readonly tree: Node | undefined;
  readonly value: unknown;
  readonly problems: readonly RecipeProblem[];
}

/** jsonc-parser's error codes in words. */
const SYNTAX_WORDS: Readonly<Record<string, string>> = {
  InvalidSymbol: 'an unexpected character',
  InvalidNumberFormat: 'a malformed number',
  PropertyNameExpected: 'a key in double quotes is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: 'a colon is expected',
  CommaExpected: 'a comma is expected',
  CloseBraceExpected: 'a closing } is expected',
  CloseBracketExpected: 'a closing ] is expected',
  EndOfFileExpected: 'nothing may follow the recipe\'s closing }',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfComment: 'a comment is not closed',
};

/** The tree's value with ordinary objects (jsonc-parser's have no prototype, which deepEqual and spreading tell apart). */
function plainValue(tree: Node): unknown {
  return JSON.parse(JSON.stringify(getNodeValue(tree)));
}

/** Parses a recipe's text (JSON with comments and trailing commas) and checks everything that needs no file. */
export function checkRecipeText(text: string): CheckedRecipe {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const checker = new Checker();
  // Only the first syntax error: the ones after it are mostly its echoes (a missing ] also "expects" a }).
  const [first] = errors;
  if (first) {
    const code = printParseErrorCode(first.error);
    checker.problems.push({ jsonPath: '', message: `not valid JSON: ${SYNTAX_WORDS[code] ?? code} — fix the syntax here`, offset: first.offset, length: Math.max(first.length, 1) });
  }
  if (errors.length > 0 || !tree) {
    if (!tree && errors.length === 0) checker.problems.push({ jsonPath: '', message: 'the recipe is empty: write an object { "inputs": [...], "output": "merged.safetensors" }', offset: 0, length: 0 });
    return { tree, value: undefined, problems: checker.problems };
  }
  if (tree.type !== 'object') {
    checker.report([], tree, 'a recipe must be an object like { "inputs": [...], "output": "merged.safetensors" }');
    return { tree, value: plainValue(tree), problems: checker.problems };
  }
  const properties = checker.properties(tree, [], RECIPE_KEYS);
  const schema = properties.get('$schema');
  if (schema && schema.type !== 'string') checker.report(['$schema'], schema, '$schema must be the schema\'s URL or path (a string), or left out');
  const inputCount = checker.inputs(properties.get('inputs'), tree);
  checker.options(properties, tree);
  const naming = properties.get('naming');
  const namingWrong = naming && inputCount !== undefined ? namingProblem(getNodeValue(naming), inputCount) : undefined;
  if (naming && namingWrong) checker.report(['naming'], naming, namingWrong);
  checker.blocks(properties.get('blocks'), inputCount);
  return { tree, value: plainValue(tree), problems: checker.problems.sort((a, b) => a.offset - b.offset) };
}
