/** `ziplora merge` and `ziplora report` as a user runs them: JSON summary, refusals, Ctrl-C, exit statuses. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
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

test('merge usage errors exit 2', () => {
  for (const args of [['merge', 'a.safetensors'], ['merge', 'a', 'b'], ['merge', 'a', 'b', '-o', 'c.bin'], ['merge', 'a', 'b', '-o', 'c.safetensors', '--method', 'sum'], ['merge', 'a', 'b', '-o', 'c.safetensors', '--steps', '-3'], ['merge', 'a', 'b', '-o', 'c.safetensors', '--backend', 'tpu']]) {
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
