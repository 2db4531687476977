/**
 * Runs in the extension host of a code-server with the linux-x64 .vsix installed (test/vscode-package/run.ts):
 * the installed extension, not a development copy, activates, registers its commands, merges two LoRAs on wasm
 * through its own worker and compute threads, and loads Dawn from the package for webgpu. Prints the activation
 * time for run.ts to collect.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { writePair } from '../support/merge-fixtures';

const EXTENSION_ID = 'ziplora.ziplora-vscode';

export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not installed`);
  const expected = process.env.ZIPLORA_PACKAGE_EXTENSIONS_DIR;
  assert.ok(expected && extension.extensionPath.startsWith(expected), `loaded from ${extension.extensionPath}, not the installed package in ${expected}`);
  assert.ok(existsSync(path.join(extension.extensionPath, 'dist', 'node_modules', 'webgpu', 'dist', 'linux-x64', 'dawn.node')), 'the package has its Dawn build');
  assert.equal(extension.isActive, false, 'nothing activated it yet');
  const started = performance.now();
  await extension.activate();
  const activationMs = performance.now() - started;
  assert.equal(extension.isActive, true);
  const commands = await vscode.commands.getCommands(true);
  const contributed = (extension.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map((c) => c.command);
  assert.deepEqual(contributed.filter((c) => !commands.includes(c)), [], 'every contributed command is registered');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ziplora-package-merge-'));
  const { content, style } = await writePair(dir);
  const output = path.join(dir, 'merged.safetensors');
  const summary = await vscode.commands.executeCommand<{ backend: string; layers: { merged: number } } | undefined>('ziplora.mergeLoras', { content, style, output, backend: 'wasm' });
  assert.equal(summary?.backend, 'wasm', 'the merge ran in the package');
  assert.equal(summary?.layers.merged, 5);
  assert.ok(existsSync(output));
  // The worker that VS Code forks loads Dawn from the package: a GPU here merges, otherwise it finds no adapter
  // (never "not installed", nor a module format the host's Node cannot load).
  const log = (extension.exports as { log: { recentLines(): readonly string[] } }).log;
  const gpu = await vscode.commands.executeCommand<{ backend: string } | undefined>('ziplora.mergeLoras', { content, style, output: path.join(dir, 'gpu.safetensors'), backend: 'webgpu' });
  const said = log.recentLines().filter((line) => line.includes('webgpu')).join('\n');
  assert.ok(gpu?.backend === 'webgpu' || /no WebGPU adapter|software adapter/.test(said), said);
  console.log(`ZIPLORA_PACKAGE_ACTIVATION_MS=${activationMs.toFixed(1)}`);
}
