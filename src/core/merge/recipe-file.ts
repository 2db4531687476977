/**
 * A recipe file checked against the files it names: each input must exist and be a LoRA, each block rule must
 * match a block of the inputs, the output's folder must exist. Shared by `ziplora merge --recipe`, the editor's
 * diagnostics and its "Merge" CodeLens, so that all three refuse a recipe with the same lines.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { findNodeAtLocation, Node } from 'jsonc-parser';
import { blockOf } from '../lora/network-blocks';
import { openLora } from '../lora/open-lora';
import { describeError } from '../safetensors/errors';
import { unknownBlockMessage, unmatchedRules } from './block-rules';
import { MergeRequest } from './request';
import { Recipe, recipeProblemLine, RecipeRunSettings, recipeToRequest } from './recipe';
import { checkRecipeText, formatJsonPath, RecipeProblem } from './recipe-check';

/** A recipe that cannot be run: `message` has one line per problem, `FILE:LINE:COLUMN: JSON.PATH: what to do`. */
export class RecipeError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly RecipeProblem[],
    readonly lines: readonly string[],
  ) {
    super(lines.join('\n'));
    this.name = 'RecipeError';
  }
}

/** The block names of one LoRA, as blockOf gives them (what the charts show and the rules match): its header and alphas only. */
export async function loraBlockNames(file: string): Promise<string[]> {
  const { file: opened, lora } = await openLora(file);
  await opened.close();
  return [...new Set(lora.layers.map((layer) => blockOf(layer.module).name))];
}

/** Where a problem at `segments` points: that node, else the nearest enclosing one that exists. */
function problemAt(tree: Node, segments: (string | number)[], message: string): RecipeProblem {
  for (let n = segments.length; n >= 0; n--) {
    const node = findNodeAtLocation(tree, segments.slice(0, n));
    if (node) return { jsonPath: formatJsonPath(segments), message, offset: node.offset, length: node.length };
  }
  return { jsonPath: formatJsonPath(segments), message, offset: 0, length: 0 };
}

/** The parts of a (possibly invalid) recipe the file checks can use: the inputs with a path, the rules, the output. */
interface FileParts {
  readonly inputs: readonly (string | undefined)[];
  /** Undefined when the rules or the inputs have problems of their own: then no rule is matched against the files. */
  readonly blocks?: Recipe['blocks'];
  readonly output?: string;
}

function filePartsOf(value: unknown, textProblems: readonly RecipeProblem[]): FileParts {
  const recipe = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const inputs = Array.isArray(recipe.inputs) ? recipe.inputs.map((input) => (typeof input?.path === 'string' && input.path !== '' ? input.path : undefined)) : [];
  const rulesChecked = !textProblems.some((problem) => /^(inputs|blocks)\b/.test(problem.jsonPath));
  return { inputs, blocks: rulesChecked ? (recipe.blocks as Recipe['blocks']) : undefined, output: typeof recipe.output === 'string' ? recipe.output : undefined };
}

/**
 * The problems of a recipe that only its files show. `blockNames` reads an input's block names (the default
 * opens it as a LoRA); the editor passes a cached one.
 */
async function fileProblems(parts: FileParts, tree: Node, recipeDir: string, blockNames: (file: string) => Promise<string[]>): Promise<RecipeProblem[]> {
  const problems: RecipeProblem[] = [];
  const known: string[] = [];
  let allRead = true;
  await Promise.all(
    parts.inputs.map(async (input, index) => {
      if (input === undefined) return;
      const file = path.resolve(recipeDir, input);
      try {
        const stats = await stat(file);
        if (!stats.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR', path: file });
        known.push(...(await blockNames(file)));
      } catch (error) {
        allRead = false;
        const code = (error as NodeJS.ErrnoException).code;
        const message = code === 'ENOENT' ? `no such file: ${file} — fix the path (relative to the recipe's folder) or move the LoRA there` : describeError(error);
        problems.push(problemAt(tree, ['inputs', index, 'path'], message));
      }
    }),
  );
  // What the merge would refuse later (checkTargets), said here at the JSON node instead.
  const resolved = parts.inputs.map((input) => (input === undefined ? undefined : path.resolve(recipeDir, input)));
  resolved.forEach((file, index) => {
    const first = file === undefined ? -1 : resolved.indexOf(file);
    if (first >= 0 && first < index) problems.push(problemAt(tree, ['inputs', index, 'path'], `the same file as inputs[${first}]: a LoRA is merged once — remove this entry and give the first a larger weight instead`));
  });
  const output = parts.output === undefined ? undefined : path.resolve(recipeDir, parts.output);
  const overwritten = output === undefined ? -1 : resolved.indexOf(output);
  if (overwritten >= 0) problems.push(problemAt(tree, ['output'], `the output is inputs[${overwritten}]'s file, and a merge never writes over an input: choose another name`));
  // A rule is unknown only against every input's blocks; with an input unread that cannot be told yet.
  if (allRead && parts.blocks) {
    for (const index of unmatchedRules(parts.blocks, known)) {
      problems.push(problemAt(tree, ['blocks', index, 'block'], unknownBlockMessage(parts.blocks[index], known)));
    }
  }
  if (parts.output !== undefined) {
    const outputDir = path.dirname(path.resolve(recipeDir, parts.output));
    const folder = await stat(outputDir).catch(() => undefined);
    if (!folder?.isDirectory()) problems.push(problemAt(tree, ['output'], `the output's folder ${outputDir} does not exist: create it or fix the path (relative to the recipe's folder)`));
  }
  return problems;
}

export interface CheckedRecipeFile {
  /** Present only when there are no problems. */
  readonly recipe?: Recipe;
  /** The parsed JSON whatever its problems (what a caller that needs only some parts reads). */
  readonly value: unknown;
  /** In the text's order. */
  readonly problems: readonly RecipeProblem[];
}

/** Every check of a recipe: its text, and the files of whatever parts of it are well formed. */
export async function checkRecipe(text: string, recipeDir: string, blockNames: (file: string) => Promise<string[]> = loraBlockNames): Promise<CheckedRecipeFile> {
  const { tree, value, problems } = checkRecipeText(text);
  if (!tree || tree.type !== 'object') return { value, problems };
  const all = [...problems, ...(await fileProblems(filePartsOf(value, problems), tree, recipeDir, blockNames))].sort((a, b) => a.offset - b.offset);
  return all.length ? { value, problems: all } : { recipe: value as Recipe, value, problems: [] };
}

/**
 * Reads, checks and resolves a recipe file into the request it describes; any problem throws a RecipeError
 * whose lines name the file, the JSON path and what to do.
 */
export async function loadRecipeRequest(file: string, run: RecipeRunSettings = {}): Promise<MergeRequest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RecipeError(file, [], [describeError(Object.assign(error as Error, { path: file }))]);
  }
  const recipeDir = path.dirname(path.resolve(file));
  const { recipe, problems } = await checkRecipe(text, recipeDir);
  if (!recipe) throw new RecipeError(file, problems, problems.map((problem) => recipeProblemLine(file, text, problem)));
  return recipeToRequest(recipe, recipeDir, run);
}
