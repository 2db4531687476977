/** `ziplora merge` and `ziplora report` as a user runs them: JSON summary, refusals, Ctrl-C, exit statuses. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { SD15_LAYERS, writePair } from '../support/merge-fixtures';
import { PROJECT_ROOT, runCli } from '../support/run-cli';

const dir = tempDir();

test('merge --json prints the summary; report writes a standalone HTML file', async () => {
  const { content, style } = await writePair(dir);
  const output = path.join(dir, 'out.safetensors');
  const result = runCli(['merge', content, style, '-o', output, '--backend', 'wasm', '--json']);
  assert.equal(result.status, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.equal(summary.layers.merged, SD15_LAYERS.length);
  assert.equal(summary.backend, 'wasm');
  assert.equal(summary.layerReports.length, SD15_LAYERS.length);
  assert.ok(existsSync(output) && existsSync(path.join(dir, 'out.ziplora.safetensors')));
  const again = runCli(['merge', content, style, '-o', output]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /out\.safetensors: already exists .*--force/);
  const html = path.join(dir, 'report.html');
  const report = runCli(['report', output, '-o', html]);
  assert.equal(report.status, 0, report.stderr);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<script type="application\/json" id="ziplora-report-data">/);
  assert.ok(page.includes(SD15_LAYERS[0].canonical), 'the report carries the layers');
  assert.doesNotMatch(page.slice(page.indexOf('ziplora-report-data')), /<\/script>\s*<\/script>/);
});

test('merge A B C: weights, block rules and the N-way summary; --lambda auto prints the λ path', async () => {
  const sub = path.join(dir, 'three');
  mkdirSync(sub);
  const { content, style } = await writePair(sub);
  const third = path.join(sub, 'third.safetensors');
  copyFileSync(style, third);
  const output = path.join(sub, 'abc.safetensors');
  const args = (out: string) => ['merge', content, style, third, '-o', out, '--backend', 'wasm', '--weights', '1,0.5,0.5', '--block', 'unet.mid_block:direct', '--lambda', 'auto'];
  const result = runCli(args(output));
  assert.equal(result.status, 0, result.stderr);
  const text = result.stdout;
  assert.match(text, /^Inputs {7}input 1 content-kohya\.safetensors, input 2 style-kohya\.safetensors ×0\.5, input 3 third\.safetensors ×0\.5$/m);
  assert.match(text, /^Layers {7}5 merged, 0 copied from input 1, 0 copied from input 2, 0 copied from input 3, 0 refused$/m);
  assert.match(text, /^Mean error {3}input 1 [\d.e-]+, input 2 [\d.e-]+, input 3 [\d.e-]+ {2}\(direct merge: input 1 /m);
  assert.match(text, /λ path \(--lambda auto\) over the layers/);
  assert.match(text, /^ *λ +error \(sum\) +overlap \(mean\)$/m);
  assert.match(text, /^block +layers +input 1 err +input 2 err +input 3 err +direct err \(sum\)/m);
  const json = runCli([...args(path.join(sub, 'abc2.safetensors')), '--json']);
  assert.equal(json.status, 0, json.stderr);
  const summary = JSON.parse(json.stdout);
  assert.deepEqual(summary.inputs.map((i: { weight: number }) => i.weight), [1, 0.5, 0.5]);
  assert.ok(Array.isArray(summary.lambdaCurve) && summary.lambdaCurve.length >= 2, 'the summed λ path');
  const mid = summary.layerReports.find((r: { module: string }) => r.module.startsWith('unet.mid_block'));
  assert.equal(mid.method, 'direct');
  // Two inputs keep the two-file wording.
  const two = runCli(['merge', content, style, '-o', path.join(sub, 'ab.safetensors'), '--backend', 'wasm', '--method', 'direct']);
  assert.equal(two.status, 0, two.stderr);
  assert.match(two.stdout, /^Layers {7}5 merged, 0 copied from content, 0 copied from style, 0 refused$/m);
  assert.match(two.stdout, /^Mean error {3}content [\d.e-]+, style [\d.e-]+/m);
});

test('merge --recipe runs a recipe file; files and options given beside it override it', async () => {
  const sub = path.join(dir, 'recipe');
  mkdirSync(sub);
  const { content, style } = await writePair(sub);
  const recipe = path.join(sub, 'pair.ziplora.json');
  writeFileSync(recipe, JSON.stringify({ inputs: [{ path: path.basename(content), weight: 0.7 }, { path: path.basename(style) }], method: 'direct', output: 'from-recipe.safetensors' }));
  const run = runCli(['merge', '--recipe', recipe, '--backend', 'wasm', '--json']);
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.equal(summary.output, path.join(sub, 'from-recipe.safetensors'));
  assert.deepEqual(summary.inputs.map((i: { weight: number }) => i.weight), [0.7, 1]);
  const stored = await withSafetensors(summary.output, async (read) => JSON.parse(read.metadata.ziplora_recipe));
  assert.deepEqual(stored.inputs, [{ path: path.basename(content), weight: 0.7 }, { path: path.basename(style), weight: 1 }], 'the recipe run as it is travels, paths relative to the output');
  assert.equal(stored.method, 'direct');
  // A recipe whose output is in another folder: the stored paths are rebased onto the merged file's folder.
  const nested = path.join(sub, 'nested.ziplora.json');
  writeFileSync(nested, JSON.stringify({ inputs: [{ path: path.basename(content) }, { path: path.basename(style) }], method: 'direct', output: 'out/nested.safetensors' }));
  mkdirSync(path.join(sub, 'out'));
  const nestedRun = runCli(['merge', '--recipe', nested, '--backend', 'wasm', '--json']);
  assert.equal(nestedRun.status, 0, nestedRun.stderr);
  const rebased = await withSafetensors(path.join(sub, 'out/nested.safetensors'), async (read) => JSON.parse(read.metadata.ziplora_recipe));
  assert.deepEqual([rebased.inputs.map((i: { path: string }) => i.path), rebased.output], [[`../${path.basename(content)}`, `../${path.basename(style)}`], 'nested.safetensors']);
  const other = path.join(sub, 'override.safetensors');
  const overridden = runCli(['merge', '--recipe', recipe, '-o', other, '--weights', '1,0.25', '--backend', 'wasm', '--json']);
  assert.equal(overridden.status, 0, overridden.stderr);
  assert.deepEqual(JSON.parse(overridden.stdout).inputs.map((i: { weight: number }) => i.weight), [1, 0.25]);
  const written = await withSafetensors(other, async (read) => JSON.parse(read.metadata.ziplora_recipe));
  assert.deepEqual(written.inputs.map((i: { weight: number }) => i.weight), [1, 0.25], 'a changed recipe is written as what was run');
  const bad = path.join(sub, 'bad.ziplora.json');
  writeFileSync(bad, JSON.stringify({ inputs: [{ path: 'missing.safetensors' }, { path: path.basename(style) }], output: 'x.safetensors' }));
  const refused = runCli(['merge', '--recipe', bad]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /bad\.ziplora\.json:\d+:\d+: inputs\[0\]\.path/);
});

test('merge usage errors exit 2', () => {
  for (const args of [['merge', 'a.safetensors'], ['merge', 'a', 'b'], ['merge', 'a', 'b', 'c', '-o', 'o.safetensors', '--weights', '1,1'], ['merge', 'a', 'b', 'c', '-o', 'o.safetensors', '--block', 'x.y=1'], ['merge', 'a', 'b', '-o', 'c.bin'], ['merge', 'a', 'b', '-o', 'c.safetensors', '--method', 'sum'], ['merge', 'a', 'b', '-o', 'c.safetensors', '--steps', '-3'], ['merge', 'a', 'b', '-o', 'c.safetensors', '--backend', 'tpu']]) {
    assert.equal(runCli(args).status, 2, args.join(' '));
  }
});

test('Ctrl-C cancels a merge: exit 130, no output and no temporary file', async () => {
  const sub = path.join(dir, 'interrupt');
  mkdirSync(sub);
  const { content, style } = await writePair(sub);
  const output = path.join(sub, 'out.safetensors');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts'), 'merge', content, style, '-o', output, '--solver', 'adam', '--steps', '100000', '--backend', 'wasm'], { cwd: PROJECT_ROOT });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Interrupt once the worker is optimising (its output file cannot exist before the writing phase).
  await new Promise((resolve) => setTimeout(resolve, 4000));
  child.kill('SIGINT');
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  assert.equal(status, 130, stderr);
  assert.match(stderr, /cancelled; no output was written/);
  assert.deepEqual(readdirSync(sub).filter((f) => f.startsWith('out') || f.endsWith('.partial')), []);
});
