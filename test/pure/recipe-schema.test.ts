/**
 * The recipe schema the extension contributes (schemas/ziplora-recipe.schema.json, the editor's completion and
 * first checks) agrees with the recipe checks (src/core/merge/recipe-check.ts, the CLI's and the diagnostics'):
 * the same keys and allowed values, and on a set of good and bad recipes the same verdict, validated with ajv.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import { MAX_INPUT_WEIGHT } from '../../src/core/merge/merge-options';
import { MAX_BLOCK_WEIGHT } from '../../src/core/merge/block-rules';
import { parseRecipe, recipeText, requestToRecipe } from '../../src/core/merge/recipe';
import { checkRecipeText, RECIPE_KEYS } from '../../src/core/merge/recipe-check';
import { BLOCK_METHODS, DEFAULT_MERGE_OPTIONS, MAX_INPUTS, MERGE_METHODS, MIN_INPUTS, OUTPUT_DTYPES, OUTPUT_NAMINGS } from '../../src/core/merge/request';
import { COLUMN_MODES, SOLVERS } from '../../src/core/merge/types';

const root = path.resolve(__dirname, '../..');
const schema = JSON.parse(readFileSync(path.join(root, 'schemas/ziplora-recipe.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

test('package.json contributes the schema for *.ziplora.json', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.contributes.jsonValidation, [{ fileMatch: '*.ziplora.json', url: './schemas/ziplora-recipe.schema.json' }]);
});

test('the schema has the checks\' keys and allowed values, a description on every property and no other keys', () => {
  const p = schema.properties;
  assert.deepEqual(Object.keys(p).sort(), [...RECIPE_KEYS].sort());
  assert.deepEqual(p.method.enum, [...MERGE_METHODS]);
  assert.deepEqual(p.solver.enum, [...SOLVERS]);
  assert.deepEqual(p.columns.enum, [...COLUMN_MODES]);
  assert.deepEqual(p.naming.enum, [...OUTPUT_NAMINGS]);
  assert.deepEqual(p.dtype.enum, [...OUTPUT_DTYPES]);
  assert.deepEqual(p.blocks.items.properties.method.enum, [...BLOCK_METHODS]);
  assert.deepEqual([p.inputs.minItems, p.inputs.maxItems], [MIN_INPUTS, MAX_INPUTS]);
  assert.equal(p.inputs.items.properties.weight.maximum, MAX_INPUT_WEIGHT);
  assert.equal(p.blocks.items.properties.weights.items.maximum, MAX_BLOCK_WEIGHT);
  // Every object closed, every property described (the editor shows the description on hover).
  const walk = (node: Record<string, unknown>, where: string) => {
    if (node.type === 'object') assert.equal(node.additionalProperties, false, `${where} must set additionalProperties: false`);
    for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      assert.equal(typeof child.description, 'string', `${where}.${key} has no description`);
      walk(child, `${where}.${key}`);
    }
    if (node.items) walk(node.items as Record<string, unknown>, `${where}[]`);
  };
  walk(schema, 'recipe');
});

const GOOD = {
  inputs: [{ path: 'subject.safetensors', weight: 1 }, { path: 'style.safetensors', weight: 0.8 }, { path: 'light.safetensors' }],
  output: 'merged.safetensors',
  method: 'ziplora',
  solver: 'newton',
  lambda: 'auto',
  columns: 'input',
  blocks: [{ block: 'unet.mid_block', method: 'direct' }, { block: 'transformer.single_blocks.0-19', weights: [1, 0, 0.5] }, { block: 'text_encoder', method: 'skip', weights: [1, 1, 1] }],
  rank: 64,
  rankEnergy: 0.99,
  naming: 'first',
  dtype: 'auto',
};

/** Bad recipes, each one change from GOOD; both validators must refuse every one. */
const BAD: Record<string, (r: Record<string, any>) => void> = {
  'unknown key': (r) => (r.lamda = 0.1),
  'unknown input key': (r) => (r.inputs[0].strength = 1),
  'unknown block key': (r) => (r.blocks[0].weight = [1, 1, 1]),
  'one input': (r) => (r.inputs = [r.inputs[0]]),
  'nine inputs': (r) => (r.inputs = Array.from({ length: 9 }, (_, i) => ({ path: `${i}.safetensors` }))),
  'no inputs': (r) => delete r.inputs,
  'no output': (r) => delete r.output,
  'output not .safetensors': (r) => (r.output = 'merged.ckpt'),
  'empty path': (r) => (r.inputs[1].path = ''),
  'input weight 4.5': (r) => (r.inputs[1].weight = 4.5),
  'input weight -1': (r) => (r.inputs[1].weight = -1),
  'block weight 5': (r) => (r.blocks[1].weights = [1, 5, 1]),
  'block weight as text': (r) => (r.blocks[1].weights = [1, '0', 1]),
  'block method blend': (r) => (r.blocks[0].method = 'blend'),
  'rule with nothing to set': (r) => (r.blocks[0] = { block: 'unet.mid_block' }),
  'block name with a space': (r) => (r.blocks[0].block = 'unet.mid block'),
  'range alone': (r) => (r.blocks[1].block = '0-19'),
  'method sum': (r) => (r.method = 'sum'),
  'lambda -1': (r) => (r.lambda = -1),
  'lambda "high"': (r) => (r.lambda = 'high'),
  'steps 2.5 with adam': (r) => Object.assign(r, { solver: 'adam', steps: 2.5 }),
  'learningRate 0 with adam': (r) => Object.assign(r, { solver: 'adam', learningRate: 0 }),
  'steps with newton': (r) => (r.steps = 50),
  'learningRate without a solver': (r) => { delete r.solver; r.learningRate = 0.01; },
  'lambda with direct': (r) => { r.method = 'direct'; delete r.solver; },
  'rank 0': (r) => (r.rank = 0),
  'rank 1.5': (r) => (r.rank = 1.5),
  'rankEnergy 0': (r) => (r.rankEnergy = 0),
  'rankEnergy 1.01': (r) => (r.rankEnergy = 1.01),
  'naming third': (r) => (r.naming = 'third'),
  'dtype f16 (case)': (r) => (r.dtype = 'f16'),
  'columns rows': (r) => (r.columns = 'rows'),
  'not an object': () => undefined,
};

function variant(change: (r: Record<string, any>) => void): unknown {
  const copy = JSON.parse(JSON.stringify(GOOD));
  change(copy);
  return change === BAD['not an object'] ? [copy] : copy;
}

test('good recipes: both validators accept them', () => {
  const goods = [
    GOOD,
    { inputs: GOOD.inputs.slice(0, 2), output: 'm.safetensors' },
    { $schema: './ziplora-recipe.schema.json', inputs: GOOD.inputs.slice(0, 2), output: 'M.SAFETENSORS', method: 'direct', columns: 'output', naming: 'style', dtype: 'BF16' },
    { inputs: GOOD.inputs, output: 'm.safetensors', solver: 'adam', steps: 0, learningRate: 0.5, lambda: 0 },
    requestToRecipe({ ...DEFAULT_MERGE_OPTIONS, inputs: [{ path: '/a/x.safetensors', weight: 1 }, { path: '/a/y.safetensors', weight: 2 }], output: '/a/m.safetensors' }, '/a'),
  ];
  for (const recipe of goods) {
    assert.equal(validate(recipe), true, `schema: ${JSON.stringify(validate.errors)}`);
    assert.deepEqual(parseRecipe(JSON.stringify(recipe)).problems, [], JSON.stringify(recipe));
    assert.deepEqual(parseRecipe(recipeText(recipe as never)).problems, []);
  }
});

test('bad recipes: both validators refuse each one', () => {
  const disagreements: string[] = [];
  for (const [name, change] of Object.entries(BAD)) {
    const recipe = variant(change);
    const schemaRefuses = !validate(recipe);
    const checksRefuse = checkRecipeText(JSON.stringify(recipe)).problems.length > 0;
    if (!schemaRefuses || !checksRefuse) disagreements.push(`${name}: schema ${schemaRefuses ? 'refuses' : 'accepts'}, checks ${checksRefuse ? 'refuse' : 'accept'}`);
  }
  assert.deepEqual(disagreements, []);
});

test('what only the checks can tell: a range that runs backwards, a key given twice', () => {
  // JSON Schema compares no two numbers of one string and sees a parsed object (one value per key).
  const backwards = variant((r) => (r.blocks[1].block = 'transformer.single_blocks.19-0'));
  assert.equal(validate(backwards), true);
  assert.match(checkRecipeText(JSON.stringify(backwards)).problems[0].message, /runs backwards/);
  const twice = '{ "inputs": [{ "path": "a.safetensors" }, { "path": "b.safetensors" }], "output": "m.safetensors", "rank": 4, "rank": 8 }';
  assert.equal(validate(JSON.parse(twice)), true);
  assert.match(checkRecipeText(twice).problems[0].message, /"rank" is given twice: keep one/);
});
