/**
 * Recipes on the command line: a three-way merge with block rules, its recipe printed by `ziplora recipe`, run
 * again with `ziplora merge --recipe`, writes the same tensors; a bad recipe is one line naming the JSON path.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseRecipe, recipeText } from '../../src/core/merge/recipe';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { SD15_LAYERS } from '../support/merge-fixtures';
import { runCli } from '../support/run-cli';

const dir = tempDir('ziplora-recipe-cli-');

async function writeInputs(): Promise<string[]> {
  const files = ['subject', 'style', 'light'].map((name) => path.join(dir, `${name}.safetensors`));
  for (const [i, file] of files.entries()) {
    if (existsSync(file)) continue;
    await writeLora(file, SD15_LAYERS, (layer, j) => randomLayerValues(layer, seededRandom(1000 * (i + 1) + j), layer.downShape[0]), { scheme: 'kohya', family: 'sd1' });
  }
  return files;
}

/** Every tensor's name, dtype, shape and bytes: what a loader reads (the metadata names the run and may differ). */
async function tensorsOf(file: string): Promise<Map<string, string>> {
  return withSafetensors(file, async (read) => {
    const tensors = new Map<string, string>();
    for (const tensor of read.tensors) tensors.set(tensor.name, `${tensor.dtype} ${tensor.shape.join('×')} ${Buffer.from(await read.readBytes(tensor)).toString('base64')}`);
    return tensors;
  });
}

test('merge with block rules → ziplora recipe → merge --recipe writes the same tensors', async () => {
  const inputs = await writeInputs();
  const output = path.join(dir, 'merged.safetensors');
  const blocks = ['--block', 'unet.mid_block:direct', '--block', 'unet.down_blocks.0=1,0.5,0'];
  const first = runCli(['merge', ...inputs, '-o', output, ...blocks, '--backend', 'wasm'], { timeoutMs: 120_000 });
  assert.equal(first.status, 0, first.stderr);

  const printed = runCli(['recipe', output]);
  assert.equal(printed.status, 0, printed.stderr);
  const { recipe, problems } = parseRecipe(printed.stdout);
  assert.deepEqual(problems, [], printed.stdout);
  assert.deepEqual(recipe!.inputs.map((input) => [input.path, input.weight ?? 1]), inputs.map((file) => [path.basename(file), 1]));
  assert.deepEqual(recipe!.blocks, [{ block: 'unet.mid_block', method: 'direct' }, { block: 'unet.down_blocks.0', weights: [1, 0.5, 0] }]);

  const again = path.join(dir, 'again.ziplora.json');
  writeFileSync(again, recipeText({ ...recipe!, output: 'again.safetensors' }));
  const second = runCli(['merge', '--recipe', again, '--backend', 'wasm'], { timeoutMs: 120_000 });
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual(await tensorsOf(path.join(dir, 'again.safetensors')), await tensorsOf(output));
});

test('merge --recipe with a bad recipe: one line per problem, FILE:LINE:COLUMN: JSON.PATH: what to do, exit 1', async () => {
  await writeInputs();
  const bad = path.join(dir, 'bad.ziplora.json');
  writeFileSync(bad, '{\n  "inputs": [{ "path": "subject.safetensors" }, { "path": "style.safetensors" }],\n  "output": "bad.safetensors",\n  "blocks": [{ "block": "unet.mid_block", "weights": [1, 7] }]\n}\n');
  const result = runCli(['merge', '--recipe', bad, '--backend', 'wasm']);
  assert.equal(result.status, 1);
  assert.equal(result.stderr, `ziplora: ${bad}:4:58: blocks[0].weights[1]: the weight of input 2 must be a number from 0 to 4 (got 7)\n`);
});
