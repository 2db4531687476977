/**
 * Merge recipes (src/core/merge/recipe*.ts): each kind of bad recipe gives one problem at the right JSON path and
 * text span; request → recipe → text → recipe → request is the identity; the file checks (missing input,
 * unknown block, missing output folder) on generated LoRAs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseBlockRule } from '../../src/core/merge/block-rules';
import { parseRecipe, Recipe, recipeProblemLine, recipeText, recipeToRequest, requestToRecipe } from '../../src/core/merge/recipe';
import { checkRecipeText, formatJsonPath } from '../../src/core/merge/recipe-check';
import { blockCompletionSite, blockSuggestions } from '../../src/core/merge/recipe-completion';
import { checkRecipe, loadRecipeRequest, RecipeError } from '../../src/core/merge/recipe-file';
import { DEFAULT_MERGE_OPTIONS, MergeRequest } from '../../src/core/merge/request';
import { writePair } from '../support/merge-fixtures';

const GOOD = `{
  // a subject and a style, the style a little weaker
  "inputs": [{ "path": "subject.safetensors", "weight": 1 }, { "path": "style.safetensors", "weight": 0.8 }],
  "method": "ziplora", "solver": "newton", "lambda": "auto", "columns": "input",
  "blocks": [{ "block": "unet.mid_block", "method": "direct" }, { "block": "unet.up_blocks", "weights": [0.5, 1] }],
  "rank": 64, "rankEnergy": 0.99, "naming": "first", "dtype": "auto",
  "output": "merged.safetensors",
}`;

/** The good recipe with one key's value replaced (or a key added / removed), as text. */
function variant(change: (recipe: Record<string, unknown>) => void): string {
  const recipe = parseRecipe(GOOD).recipe as Record<string, unknown>;
  const copy = JSON.parse(JSON.stringify(recipe));
  change(copy);
  return JSON.stringify(copy, null, 2);
}

/** The one problem of a text: its path, its message and the text it points at. */
function onlyProblem(text: string): { jsonPath: string; message: string; at: string } {
  const { problems } = checkRecipeText(text);
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems, null, 1)}`);
  const [p] = problems;
  return { jsonPath: p.jsonPath, message: p.message, at: text.slice(p.offset, p.offset + p.length) };
}

test('a good recipe (comments and trailing commas allowed) has no problems', () => {
  const { recipe, problems } = parseRecipe(GOOD);
  assert.deepEqual(problems, []);
  assert.equal(recipe!.lambda, 'auto');
  assert.deepEqual(recipe!.blocks, [{ block: 'unet.mid_block', method: 'direct' }, { block: 'unet.up_blocks', weights: [0.5, 1] }]);
});

test('each bad recipe gives one problem at its JSON path, pointing at the node, saying what to do', () => {
  const cases: [string, string, string, RegExp][] = [
    // [text, JSON path, text at the span, message]
    [variant((r) => (r.lamda = 0.1)), 'lamda', '"lamda"', /unknown key "lamda": rename it to "lambda" or remove it/],
    [variant((r) => (r.colour = 'blue')), 'colour', '"colour"', /unknown key "colour": remove it \(the keys here are \$schema, inputs, output/],
    [variant((r) => ((r.inputs as object[])[1] = { path: 'style.safetensors', wieght: 1 })), 'inputs[1].wieght', '"wieght"', /rename it to "weight"/],
    [variant((r) => ((r.inputs as object[])[1] = { weight: 1 })), 'inputs[1].path', '{', /"path" is missing: add the LoRA file's path, relative to the recipe's folder/],
    [variant((r) => ((r.inputs as { weight: number }[])[0].weight = 5)), 'inputs[0].weight', '5', /weight must be a number from 0 to 4/],
    [variant((r) => (r.inputs = [{ path: 'a.safetensors' }])), 'inputs', '[\n    {\n      "path": "a.safetensors"\n    }\n  ]', /a merge takes 2 to 8 inputs \(this recipe lists 1\): add some/],
    [variant((r) => delete r.inputs), 'inputs', '{', /"inputs" is missing/],
    [variant((r) => delete r.output), 'output', '{', /"output" is missing: add the merged file's path/],
    [variant((r) => (r.output = 'merged.ckpt')), 'output', '"merged.ckpt"', /output must be a file path ending in \.safetensors/],
    [variant((r) => (r.lambda = -1)), 'lambda', '-1', /lambda must be a number ≥ 0 or "auto" \(got -1\)/],
    [variant((r) => (r.rankEnergy = 1.5)), 'rankEnergy', '1.5', /rankEnergy must be a number > 0 and ≤ 1/],
    [variant((r) => (r.method = 'sum')), 'method', '"sum"', /^method must be one of ziplora, direct \(got "sum"\)$/],
    [variant((r) => (r.allowMixedExperts = 'yes')), 'allowMixedExperts', '"yes"', /^allowMixedExperts must be true or false \(got "yes"\)$/],
    [variant((r) => (r.steps = 50)), 'steps', '50', /steps applies only to the ziplora method with the adam solver, and this merge uses the newton solver: remove it/],
    [variant((r) => { r.method = 'direct'; delete r.lambda; r.solver = 'adam'; }), 'solver', '"adam"', /solver applies only to the ziplora method, and this merge is a direct merge: remove it/],
    [variant((r) => ((r.blocks as { weights?: number[] }[])[1].weights = [0.5, 4.5])), 'blocks[1].weights[1]', '4.5', /the weight of input 2 must be a number from 0 to 4 \(got 4\.5\)/],
    [variant((r) => ((r.blocks as { weights?: number[] }[])[1].weights = [0.5, 1, 1])), 'blocks[1].weights', '[\n        0.5,\n        1,\n        1\n      ]', /give one weight per input: 2 numbers \(got 3\)/],
    [variant((r) => ((r.blocks as { method?: string }[])[0].method = 'blend')), 'blocks[0].method', '"blend"', /method must be one of zip, direct, skip/],
    [variant((r) => ((r.blocks as { block: string }[])[0].block = 'unet.mid block')), 'blocks[0].block', '"unet.mid block"', /is not a block name/],
    [variant((r) => ((r.blocks as object[])[0] = { block: 'unet.mid_block' })), 'blocks[0].block', '"unet.mid_block"', /the rule sets nothing/],
    [variant((r) => ((r.blocks as object[])[0] = { block: 7, method: 'skip' })), 'blocks[0].block', '7', /the block must be a block name such as unet\.mid_block, in quotes \(got 7\)/],
    [variant((r) => ((r.blocks as object[])[0] = { block: 'unet.mid_block', weights: 1 })), 'blocks[0].weights', '1', /the block weights must be a list of 2 numbers, one per input/],
    [variant((r) => ((r.blocks as object[])[0] = { method: 'skip' })), 'blocks[0].block', '{', /"block" is missing/],
    [variant((r) => { r.naming = 'style'; (r.inputs as object[]).push({ path: 'third.safetensors' }); delete r.blocks; }), 'naming', '"style"', /naming "style" names the second of two inputs; with 3, use first/],
    ['{ "inputs": [ }', '', '}', /^not valid JSON: a value is expected — fix the syntax here$/],
  ];
  for (const [text, jsonPath, at, message] of cases) {
    const problem = onlyProblem(text);
    assert.equal(problem.jsonPath, jsonPath, text);
    assert.equal(problem.at, at, jsonPath);
    assert.match(problem.message, message, jsonPath);
  }
});

test('a problem is one line: FILE:LINE:COLUMN: JSON.PATH: what to do', () => {
  const text = variant((r) => ((r.blocks as { weights?: number[] }[])[1].weights = [0.5, 9]));
  const { problems, lines } = parseRecipe(text, 'mix.ziplora.json');
  assert.equal(problems.length, 1);
  assert.deepEqual(lines, ['mix.ziplora.json:25:9: blocks[1].weights[1]: the weight of input 2 must be a number from 0 to 4 (got 9)']);
  assert.equal(recipeProblemLine('mix.ziplora.json', text, problems[0]), lines[0]);
  assert.equal(formatJsonPath(['$schema']), '["$schema"]');
  assert.equal(formatJsonPath(['blocks', 0, 'weights', 2]), 'blocks[0].weights[2]');
});

function request(overrides: Partial<MergeRequest>): MergeRequest {
  return { ...DEFAULT_MERGE_OPTIONS, inputs: [], output: '', ...overrides };
}

test('request → recipe → text → recipe → request is the identity, for every method and solver', () => {
  const dir = path.resolve('/work/recipes');
  const requests: MergeRequest[] = [
    request({
      inputs: [{ path: '/work/recipes/a.safetensors', weight: 1 }, { path: '/work/loras/b c.safetensors', weight: 0.75 }, { path: '/work/recipes/sub/c.safetensors', weight: 0 }],
      output: '/work/out/merged.safetensors',
      lambda: 'auto',
      rank: 48,
      rankEnergy: 0.995,
      naming: 'kohya',
      dtype: 'BF16',
      columns: 'output',
      blocks: [parseBlockRule('unet.mid_block:direct'), parseBlockRule('unet.up_blocks.0-1=0.5,1,2'), parseBlockRule('text_encoder:skip=0,0,0')],
    }),
    request({ inputs: [{ path: '/work/recipes/a.safetensors', weight: 1 }, { path: '/work/recipes/b.safetensors', weight: 1 }], output: '/work/recipes/m.safetensors', solver: 'adam', steps: 250, learningRate: 0.02, lambda: 0.1 }),
    request({ inputs: [{ path: '/work/recipes/a.safetensors', weight: 2 }, { path: '/work/recipes/b.safetensors', weight: 1 }], output: '/work/recipes/m.safetensors', method: 'direct' }),
    request({ inputs: [{ path: '/work/recipes/a_high_noise.safetensors', weight: 1 }, { path: '/work/recipes/b_low_noise.safetensors', weight: 1 }], output: '/work/recipes/m.safetensors', allowMixedExperts: true }),
  ];
  for (const original of requests) {
    const recipe = requestToRecipe(original, dir);
    const text = recipeText(recipe);
    const parsed = parseRecipe(text);
    assert.deepEqual(parsed.problems, [], text);
    const { recipe: carried, ...again } = recipeToRequest(parsed.recipe!, dir);
    assert.deepEqual(again, original, text);
    assert.deepEqual(carried, recipe);
  }
  // Paths relative to the recipe's folder, with forward slashes; options the merge does not use are left out.
  const [full, , direct] = requests.map((r) => requestToRecipe(r, dir));
  assert.deepEqual(full.inputs.map((i) => i.path), ['a.safetensors', '../loras/b c.safetensors', 'sub/c.safetensors']);
  assert.equal(full.output, '../out/merged.safetensors');
  assert.equal(full.steps, undefined);
  assert.deepEqual(Object.keys(direct), ['inputs', 'output', 'method', 'columns', 'naming', 'dtype']);
});

test('the file checks: a missing input, a block no input has, a missing output folder; a good recipe loads as its request', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ziplora-recipe-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { content, style } = await writePair(dir);
  const recipe: Recipe = { inputs: [{ path: path.basename(content) }, { path: path.basename(style), weight: 0.5 }], output: 'merged.safetensors', blocks: [{ block: 'unet.down_blocks.0', weights: [1, 0] }] };
  const good = path.join(dir, 'good.ziplora.json');
  await writeFile(good, recipeText(recipe));
  const loaded = await loadRecipeRequest(good, { backend: 'wasm' });
  assert.deepEqual(loaded.inputs, [{ path: content, weight: 1 }, { path: style, weight: 0.5 }]);
  assert.equal(loaded.output, path.join(dir, 'merged.safetensors'));
  assert.equal(loaded.backend, 'wasm');
  assert.deepEqual(loaded.recipe, recipe);

  const bad: Recipe = { ...recipe, inputs: [recipe.inputs[0], { path: 'missing.safetensors' }], output: 'nowhere/merged.safetensors' };
  const badText = recipeText(bad);
  const checked = await checkRecipe(badText, dir);
  assert.deepEqual(checked.problems.map((p) => p.jsonPath), ['inputs[1].path', 'output']);
  assert.match(checked.problems[0].message, /^no such file: .*missing\.safetensors — fix the path \(relative to the recipe's folder\)/);
  assert.equal(badText.slice(checked.problems[0].offset, checked.problems[0].offset + checked.problems[0].length), '"missing.safetensors"');
  assert.match(checked.problems[1].message, /the output's folder .*nowhere does not exist: create it or fix the path/);

  const twice = recipeText({ ...recipe, inputs: [recipe.inputs[0], { path: `./${path.basename(content)}` }], output: path.basename(content) });
  const twiceProblems = (await checkRecipe(twice, dir)).problems;
  assert.deepEqual(twiceProblems.map((p) => p.jsonPath), ['inputs[1].path', 'output']);
  assert.match(twiceProblems[0].message, /^the same file as inputs\[0\]: a LoRA is merged once/);
  assert.match(twiceProblems[1].message, /^the output is inputs\[0\]'s file, and a merge never writes over an input: choose another name$/);

  const unknownBlock = recipeText({ ...recipe, blocks: [{ block: 'unet.mid_block', method: 'direct' }, { block: 'unet.down_block.0', weights: [1, 0] }] });
  const blockProblems = (await checkRecipe(unknownBlock, dir)).problems;
  assert.deepEqual(blockProblems.map((p) => p.jsonPath), ['blocks[1].block']);
  assert.match(blockProblems[0].message, /^unet\.down_block\.0 matches no block of the inputs: use a block name the charts show; the nearest are unet\.down_blocks\.0/);

  const badFile = path.join(dir, 'bad.ziplora.json');
  await writeFile(badFile, unknownBlock);
  await assert.rejects(loadRecipeRequest(badFile), (error: unknown) => {
    assert.ok(error instanceof RecipeError);
    assert.match(error.message, /^.*bad\.ziplora\.json:\d+:\d+: blocks\[1\]\.block: unet\.down_block\.0 matches no block/);
    assert.equal(error.message.split('\n').length, 1);
    return true;
  });
  await assert.rejects(loadRecipeRequest(path.join(dir, 'none.ziplora.json')), /none\.ziplora\.json: no such file/);
});

test('block-name completion: where a block name is typed, and the blocks then the containers to offer', () => {
  const text = '{ "inputs": [], "blocks": [{ "block": "unet.up", "weights": [1, 1] }, { "block": }, { "method": "skip" }] }';
  const inside = text.indexOf('unet.up') + 4;
  assert.deepEqual(blockCompletionSite(text, inside), { offset: text.indexOf('unet.up'), length: 'unet.up'.length, quote: false });
  const bare = text.indexOf('"block": }') + '"block": '.length;
  assert.deepEqual(blockCompletionSite(text, bare), { offset: bare, length: 0, quote: true });
  for (const elsewhere of [text.indexOf('"inputs"') + 2, text.indexOf('"weights"') + 3, text.indexOf('"skip"') + 2, text.indexOf('[1, 1]') + 1]) {
    assert.equal(blockCompletionSite(text, elsewhere), undefined, text.slice(elsewhere - 5, elsewhere + 5));
  }
  const names = ['unet.up_blocks.1', 'unet.mid_block', 'text_encoder', 'unet.up_blocks.0', 'unet.down_blocks.2', 'unet.up_blocks.1'];
  assert.deepEqual(blockSuggestions(names), [
    { name: 'text_encoder', blocks: 1 },
    { name: 'unet.down_blocks.2', blocks: 1 },
    { name: 'unet.mid_block', blocks: 1 },
    { name: 'unet.up_blocks.0', blocks: 1 },
    { name: 'unet.up_blocks.1', blocks: 1 },
    { name: 'unet', blocks: 4 },
    { name: 'unet.up_blocks', blocks: 2 },
  ]);
});
