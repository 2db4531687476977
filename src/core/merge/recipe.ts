/**
 * Merge recipes as files (`NAME.ziplora.json`): what to merge and how, with input paths relative to the recipe's
 * folder, so that a recipe kept beside its LoRAs re-creates the merge anywhere. The format is documented in
 * docs/recipes.md and described by schemas/ziplora-recipe.schema.json (the editor's completion); the checks
 * with their JSON paths are recipe-check.ts'. A recipe holds what decides the output, not how this machine
 * computes it: the backend, the threads and whether to replace an existing output come from the run.
 */
import path from 'node:path';
import { BlockRule, DEFAULT_MERGE_OPTIONS, MergeMethod, MergeRequest, NamingChoice, OutputDtype } from './request';
import { OPTION_APPLIES_TO } from './merge-options';
import { checkRecipeText, RECIPE_KEYS, RECIPE_OPTION_KEYS, RecipeProblem } from './recipe-check';
import { ColumnMode, SolverName } from './types';

export { RecipeProblem } from './recipe-check';

/** A recipe file ends in this, so that the editor applies the schema and the CodeLens to it. */
export const RECIPE_SUFFIX = '.ziplora.json';

export type RecipeInput = {
  /** The LoRA file, relative to the recipe's folder (or absolute). */
  readonly path: string;
  /** The input's strength, 0 to 4; 1 when left out. */
  readonly weight?: number;
};

/** A type alias, not an interface, so that it is a JSON object (MergeRequest.recipe) as it is. */
export type Recipe = {
  readonly $schema?: string;
  readonly inputs: readonly RecipeInput[];
  /** The merged file, relative to the recipe's folder. */
  readonly output: string;
  readonly method?: MergeMethod;
  readonly solver?: SolverName;
  readonly lambda?: number | 'auto';
  readonly steps?: number;
  readonly learningRate?: number;
  readonly columns?: ColumnMode;
  readonly rank?: number;
  readonly rankEnergy?: number;
  readonly naming?: NamingChoice;
  readonly dtype?: OutputDtype;
  readonly blocks?: readonly BlockRule[];
  /** Merge LoRAs for different experts of one model (Wan 2.2 A14B high-noise with low-noise), refused otherwise. */
  readonly allowMixedExperts?: boolean;
};

export interface ParsedRecipe {
  /** Present only when there are no problems. */
  readonly recipe?: Recipe;
  readonly problems: readonly RecipeProblem[];
  /** The problems as the CLI prints them, `FILE:LINE:COLUMN: JSON.PATH: what to do`. */
  readonly lines: readonly string[];
}

/** Parses and checks a recipe's text (JSON with comments allowed); `file` names it in `lines`. File checks are recipe-file.ts'. */
export function parseRecipe(text: string, file = 'recipe'): ParsedRecipe {
  const { value, problems } = checkRecipeText(text);
  const lines = problems.map((problem) => recipeProblemLine(file, text, problem));
  return problems.length ? { problems, lines } : { recipe: value as Recipe, problems, lines };
}

/** 1-based line and column of an offset, for `file:line:column` (what terminals and editors link). */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

/** One problem as the one line the CLI prints: `FILE:LINE:COLUMN: JSON.PATH: what to do`. */
export function recipeProblemLine(file: string, text: string, problem: RecipeProblem): string {
  const { line, column } = lineAndColumn(text, problem.offset);
  return `${file}:${line}:${column}: ${problem.jsonPath ? `${problem.jsonPath}: ` : ''}${problem.message}`;
}

/** Run settings a recipe leaves to the run (the CLI's flags, the editor's settings). */
export type RecipeRunSettings = Partial<Pick<MergeRequest, 'backend' | 'overwrite' | 'threads' | 'sparsityThreshold'>>;

/** The request a (checked) recipe describes, its paths resolved against the recipe's folder; the recipe travels with it into the output's metadata. */
export function recipeToRequest(recipe: Recipe, recipeDir: string, run: RecipeRunSettings = {}): MergeRequest {
  const d = DEFAULT_MERGE_OPTIONS;
  return {
    inputs: recipe.inputs.map((input) => ({ path: path.resolve(recipeDir, input.path), weight: input.weight ?? 1 })),
    output: path.resolve(recipeDir, recipe.output),
    method: recipe.method ?? d.method,
    solver: recipe.solver ?? d.solver,
    steps: recipe.steps ?? d.steps,
    lambda: recipe.lambda ?? d.lambda,
    learningRate: recipe.learningRate ?? d.learningRate,
    columns: recipe.columns ?? d.columns,
    backend: run.backend ?? d.backend,
    ...(recipe.rank !== undefined ? { rank: recipe.rank } : {}),
    ...(recipe.rankEnergy !== undefined ? { rankEnergy: recipe.rankEnergy } : {}),
    dtype: recipe.dtype ?? d.dtype,
    naming: recipe.naming ?? d.naming,
    blocks: recipe.blocks ?? [],
    overwrite: run.overwrite ?? d.overwrite,
    sparsityThreshold: run.sparsityThreshold ?? d.sparsityThreshold,
    threads: run.threads ?? d.threads,
    ...(recipe.allowMixedExperts !== undefined ? { allowMixedExperts: recipe.allowMixedExperts } : {}),
    recipe,
  };
}

/** A path as a recipe writes it: relative to `from` where it can be, with forward slashes on every system. */
function recipePath(file: string, from: string): string {
  const relative = path.relative(from, file);
  return (path.isAbsolute(relative) ? file : relative).split(path.sep).join('/');
}

/**
 * The recipe that re-creates a request, paths relative to `relativeTo` (the folder the recipe will be in). Every
 * option the merge uses is written, defaults included, so that a later change of a default does not change what
 * the recipe makes; options the merge does not use (the solver of a direct merge) are left out, as the checks
 * refuse them.
 */
export function requestToRecipe(request: MergeRequest, relativeTo: string): Recipe {
  const merge = { method: request.method, solver: request.solver };
  const applies = (key: (typeof RECIPE_OPTION_KEYS)[number]) => OPTION_APPLIES_TO[key].applies(merge);
  const recipe: Record<string, unknown> = {
    inputs: request.inputs.map((input) => ({ path: recipePath(input.path, relativeTo), weight: input.weight })),
    output: recipePath(request.output, relativeTo),
  };
  for (const key of RECIPE_OPTION_KEYS) {
    if (key === 'output' || !applies(key) || request[key] === undefined) continue;
    recipe[key] = request[key];
  }
  if (request.blocks.length) recipe.blocks = request.blocks.map((rule) => ({ ...rule, ...(rule.weights ? { weights: [...rule.weights] } : {}) }));
  return recipe as Recipe;
}

/** A value on one line, with a space after each comma and colon (`{ "path": "a.safetensors", "weight": 1 }`). */
function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `{ ${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${inline(item)}`).join(', ')} }`;
  return JSON.stringify(value);
}

/** A recipe as text: one key per line, each input and block rule on its own line, in the schema's key order. */
export function recipeText(recipe: Recipe): string {
  const entries = RECIPE_KEYS.filter((key) => recipe[key] !== undefined).map((key) => {
    const value = recipe[key];
    if (Array.isArray(value)) return `  ${JSON.stringify(key)}: [\n${value.map((item) => `    ${inline(item)}`).join(',\n')}\n  ]`;
    return `  ${JSON.stringify(key)}: ${inline(value)}`;
  });
  return `{\n${entries.join(',\n')}\n}\n`;
}
