/** Host logic that needs no VS Code: arguments, settings, output paths, messages, the manifest. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildMergeRequest, defaultOutputPath, readMergeSettings, validateMergeCommandArgs } from '../../src/extension/merge-arguments';
import { isFromWebview } from '../../src/shared/webview-protocol';
import { PROJECT_ROOT } from '../support/run-cli';

const manifest = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));

test('merge command arguments are validated with messages a caller can act on', () => {
  assert.deepEqual(validateMergeCommandArgs(undefined), []);
  assert.deepEqual(validateMergeCommandArgs({ content: '/a.safetensors', style: '/b.safetensors', steps: 10, lambda: 0.1 }), []);
  assert.deepEqual(validateMergeCommandArgs({ inputs: [{ path: '/a.safetensors', weight: 1 }, { path: '/b.safetensors', weight: 0.5 }, { path: '/c.safetensors', weight: 1 }], lambda: 'auto' }), []);
  assert.deepEqual(validateMergeCommandArgs({ content: '/a.safetensors', inputs: [] }), [
    'give the inputs once: inputs, or content and style',
    'inputs must be a list of 2 to 8 inputs { path, weight } with weights from 0 to 4 (got [])',
  ]);
  assert.deepEqual(validateMergeCommandArgs('a.safetensors'), ['the merge options must be an object like { inputs, output }']);
  const problems = validateMergeCommandArgs({ content: 3, output: 'x.bin', method: 'sum', steps: -1, lambda: 'big', backend: 'tpu', extra: true, overwrite: 'yes', sparsityThreshold: 0.1 });
  assert.deepEqual(problems, [
    'content must be a file path (got 3)',
    'unknown option "extra"',
    'unknown option "sparsityThreshold"',
    'output must be a file path ending in .safetensors (got "x.bin")',
    'method must be one of ziplora, direct (got "sum")',
    'steps must be an integer from 0 to 100000 (got -1)',
    'lambda must be a number ≥ 0 or "auto" (got "big")',
    'backend must be one of auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu (got "tpu")',
    'overwrite must be true or false (got "yes")',
  ]);
});

test('settings fall back to defaults on bad values, and arguments win over settings', () => {
  const settings = readMergeSettings((key) => ({ backend: 'nonsense', steps: 50, lambda: -1, columns: 'output', outputRank: 16, threads: 1.5 })[key as 'steps']);
  assert.deepEqual(settings, { backend: 'auto', solver: 'newton', steps: 50, lambda: 0.03, learningRate: 0.01, columns: 'output', outputDtype: 'auto', outputRank: 16, outputRankEnergy: 0, sparsityThreshold: 0.05, threads: 0 });
  assert.equal(readMergeSettings((key) => (key === 'threads' ? 3 : undefined)).threads, 3);
  assert.equal(readMergeSettings((key) => (key === 'lambda' ? 'auto' : undefined)).lambda, 'auto');
  assert.equal(readMergeSettings((key) => (key === 'outputRankEnergy' ? 0.99 : undefined)).outputRankEnergy, 0.99);
  const inputs = [{ path: '/c.safetensors', weight: 1 }, { path: '/s.safetensors', weight: 1 }];
  const request = buildMergeRequest({ inputs, output: '/o.safetensors', steps: 7 }, settings);
  assert.equal(request.steps, 7);
  assert.equal(request.columns, 'output');
  assert.equal(request.rank, 16);
  assert.equal(request.rankEnergy, undefined);
  assert.equal(buildMergeRequest({ inputs, output: 'o.safetensors' }, { ...settings, outputRank: 0 }).rank, undefined);
  assert.equal(buildMergeRequest({ inputs, output: 'o.safetensors' }, { ...settings, outputRankEnergy: 0.9 }).rankEnergy, 0.9);
});

test('the default output A+B+C.safetensors sits beside the first input, is no sidecar name, and never reuses a taken name', () => {
  // Taken: the first candidate itself, and the second one's sidecar.
  const taken = new Set(['/loras/subject+style.safetensors', '/loras/subject+style-2.ziplora.safetensors']);
  assert.equal(defaultOutputPath(['/loras/subject.safetensors', '/x/style.safetensors'], (f) => taken.has(f)), '/loras/subject+style-3.safetensors');
  assert.equal(defaultOutputPath(['/a/b.safetensors', '/c/d.safetensors', '/e/f.safetensors'], () => false), '/a/b+d+f.safetensors');
  assert.doesNotMatch(defaultOutputPath(['/a/b.safetensors', '/c/d.safetensors'], () => false), /\.ziplora\./);
});

test('only well-formed webview messages are accepted', () => {
  for (const ok of [{ type: 'ready' }, { type: 'requestTensorStats', name: 'w' }, { type: 'requestLayerCoefficients', module: 'unet.x' }, { type: 'revealFile', which: 'sidecar' }]) assert.ok(isFromWebview(ok), JSON.stringify(ok));
  for (const bad of [null, 'ready', {}, { type: 'deleteFile', path: '/' }, { type: 'requestTensorStats' }, { type: 'requestTensorStats', name: 5 }, { type: 'requestTensorStats', name: 'x'.repeat(5000) }, { type: 'revealFile', which: '/etc/passwd' }]) {
    assert.equal(isFromWebview(bad), false, JSON.stringify(bad));
  }
});

// That every contributed command is registered is asked of VS Code itself (test/vscode/suite/2-commands.test.ts).
test('the manifest: commands in the ZipLoRA category, menus show for .safetensors only, settings are described', () => {
  const commands: { command: string; title: string; category: string }[] = manifest.contributes.commands;
  assert.ok(commands.length >= 7);
  for (const c of commands) assert.equal(c.category, 'ZipLoRA', c.command);
  const explorer: { command: string; when: string }[] = manifest.contributes.menus['explorer/context'];
  assert.deepEqual(explorer.map((m) => m.command).sort(), ['ziplora.inspect', 'ziplora.mergeAsContent', 'ziplora.mergeAsStyle', 'ziplora.mergeSelected']);
  for (const item of explorer) assert.match(item.when, /resourceExtname == \.safetensors/);
  assert.match(explorer.find((m) => m.command === 'ziplora.mergeSelected')!.when, /(?<!!)listMultiSelection/);
  for (const single of ['ziplora.inspect', 'ziplora.mergeAsContent', 'ziplora.mergeAsStyle']) assert.match(explorer.find((m) => m.command === single)!.when, /!listMultiSelection/);
  const properties: Record<string, { description?: string; markdownDescription?: string; default: unknown }> = manifest.contributes.configuration.properties;
  assert.deepEqual(Object.keys(properties).sort(), ['ziplora.backend', 'ziplora.columns', 'ziplora.lambda', 'ziplora.learningRate', 'ziplora.outputDtype', 'ziplora.outputRank', 'ziplora.outputRankEnergy', 'ziplora.solver', 'ziplora.sparsityThreshold', 'ziplora.steps', 'ziplora.threads']);
  for (const [key, p] of Object.entries(properties)) assert.ok((p.description ?? p.markdownDescription ?? '').length > 20, `${key} has no description`);
  assert.deepEqual(manifest.contributes.customEditors[0].selector, [{ filenamePattern: '*.safetensors' }]);
  assert.equal(manifest.contributes.customEditors[0].priority, 'default');
  assert.deepEqual(manifest.extensionKind, ['workspace']);
  assert.equal(manifest.engines.vscode, '^1.100.0');
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  for (const c of commands.filter((c) => /merge(?!.*cancel)/i.test(c.command) && c.command !== 'ziplora.cancelMerge')) {
    assert.equal((c as { enablement?: string }).enablement, 'isWorkspaceTrusted', `${c.command} must need trust`);
  }
});
