/**
 * `ziplora recipe MERGED` (src/cli/recipe.ts, src/core/merge/recipe-metadata.ts): the recipe stored by a format-2
 * merge is printed as a recipe file; a format-1 merge's settings and sources are rebuilt into the same merge's
 * recipe; the sidecar stands in for a merged file whose metadata was stripped; anything else is one line.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runRecipe } from '../../src/cli/recipe';
import { parseRecipe, Recipe } from '../../src/core/merge/recipe';
import { readMergeRecipe, recipeFromMetadata } from '../../src/core/merge/recipe-metadata';
import { sidecarPathFor } from '../../src/core/merge/request';
import { writeSafetensors } from '../support/write-safetensors';

const TENSOR = { name: 'x', dtype: 'F32' as const, shape: [1], data: new Uint8Array(4) };

const RECIPE: Recipe = {
  inputs: [{ path: 'subject.safetensors', weight: 1 }, { path: 'style.safetensors', weight: 0.8 }, { path: 'light.safetensors', weight: 0.5 }],
  output: 'merged.safetensors',
  method: 'ziplora',
  solver: 'newton',
  lambda: 'auto',
  columns: 'input',
  naming: 'first',
  dtype: 'auto',
  blocks: [{ block: 'unet.mid_block', method: 'direct' }],
};

test('a format-2 merge: the stored recipe, printed as a recipe file that parses back to it', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ziplora-recipe-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const merged = path.join(dir, 'merged.safetensors');
  await writeSafetensors(merged, [TENSOR], { ziplora_recipe: JSON.stringify(RECIPE), ziplora_format: '2' });
  const lines: string[] = [];
  await runRecipe([merged], (text) => lines.push(text));
  assert.equal(lines.length, 1);
  assert.deepEqual(parseRecipe(lines[0]).recipe, RECIPE);
  assert.match(lines[0], /^\{\n {2}"inputs": \[\n {4}\{ "path": "subject\.safetensors", "weight": 1 \},/);
});

test('a merged file without metadata: the sidecar beside it; neither: one line naming the file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ziplora-recipe-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const merged = path.join(dir, 'renamed.safetensors');
  await writeSafetensors(merged, [TENSOR]);
  await assert.rejects(readMergeRecipe(merged), { message: `${merged}: has no ziplora_recipe metadata — it was not written by \`ziplora merge\`, or its metadata was removed; a sidecar OUT.ziplora.safetensors beside it would hold the recipe too` });
  await writeSafetensors(sidecarPathFor(merged), [TENSOR], { ziplora_recipe: JSON.stringify(RECIPE), ziplora_merged_file: 'merged.safetensors' });
  assert.deepEqual(await readMergeRecipe(merged), RECIPE);
  assert.deepEqual(await readMergeRecipe(sidecarPathFor(merged)), RECIPE);
  await assert.rejects(runRecipe([], () => undefined), /recipe takes one merged LoRA \(got 0 files\)/);
});

test('a format-1 merge: content and style from ziplora_sources, its settings as a recipe', () => {
  const sources = JSON.stringify([{ role: 'content', file: 'dog.safetensors', sha256: 'a' }, { role: 'style', file: 'ink.safetensors', sha256: 'b' }]);
  const old = (settings: object) => ({ file: 'm.safetensors', mergedFile: 'm.safetensors', metadata: { ziplora_recipe: JSON.stringify(settings), ziplora_sources: sources } });
  const newton = { method: 'ziplora', solver: 'newton', newton: { tolerance: 1e-4 }, steps: 100, lambda: 0.03, lr: 0.01, columns: 'input', directWeights: [1, 0.5], sparsityThreshold: 0.05, rank: null, backend: 'wasm', device: 'cpu', tool: 'ziplora-vscode', version: '0.1.0' };
  assert.deepEqual(recipeFromMetadata(old(newton)), {
    inputs: [{ path: 'dog.safetensors', weight: 1 }, { path: 'ink.safetensors', weight: 1 }],
    output: 'm.safetensors',
    method: 'ziplora',
    solver: 'newton',
    lambda: 0.03,
    columns: 'input',
    naming: 'first',
  });
  const adam = recipeFromMetadata(old({ ...newton, solver: 'adam', steps: 40, lr: 0.02, rank: 8 }));
  assert.deepEqual([adam.steps, adam.learningRate, adam.rank], [40, 0.02, 8]);
  // Format 1's direct weights were the direct merge's: they become the inputs' strengths.
  const direct = recipeFromMetadata(old({ method: 'direct', steps: 0, lambda: 0.03, lr: 0.01, columns: 'output', directWeights: [1, 0.5], rank: null }));
  assert.deepEqual(direct, { inputs: [{ path: 'dog.safetensors', weight: 1 }, { path: 'ink.safetensors', weight: 0.5 }], output: 'm.safetensors', method: 'direct', columns: 'output', naming: 'first' });
  assert.throws(() => recipeFromMetadata({ ...old(newton), metadata: { ziplora_recipe: '{"method":' } }), /m\.safetensors: its ziplora_recipe metadata is not valid JSON/);
  assert.throws(() => recipeFromMetadata({ ...old(newton), metadata: { ziplora_recipe: JSON.stringify({ ...RECIPE, lambda: -2 }) } }), /its ziplora_recipe is not a recipe this version reads: lambda: lambda must be a number ≥ 0/);
});
