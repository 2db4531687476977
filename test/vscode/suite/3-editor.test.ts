import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { SD15_LAYERS, writePair } from '../../support/merge-fixtures';
import { api, closeAllEditors, waitForEditor, workspaceDir } from './helpers';

const EDITOR = 'ziplora.safetensorsEditor';

suite('safetensors editor', () => {
  suiteSetup(async () => {
    await api();
  });
  teardown(closeAllEditors);

  test('opens a generated LoRA and sends its webview the tensor count and the LoRA layers', async () => {
    const { content } = await writePair(workspaceDir('editor'));
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(content), EDITOR);
    const state = await waitForEditor(content, ['file', 'loraLayers']);
    // Each kohya layer has lora_down, lora_up and alpha.
    assert.equal(state.view?.summary.tensors.length, SD15_LAYERS.length * 3);
    assert.equal(state.loraLayers, SD15_LAYERS.length);
    assert.equal(state.error, undefined);
  });

  test('ziplora.inspect opens the same editor', async () => {
    const { style } = await writePair(workspaceDir('inspect'));
    const opened = await vscode.commands.executeCommand<string>('ziplora.inspect', vscode.Uri.file(style));
    assert.equal(opened, style);
    const state = await waitForEditor(style, ['file']);
    assert.equal(state.view?.summary.tensors.length, SD15_LAYERS.length * 3);
  });

  test('a malformed file (a Git LFS pointer) shows its error, and the host keeps working', async () => {
    const dir = workspaceDir('malformed');
    const pointer = path.join(dir, 'pointer.safetensors');
    writeFileSync(pointer, 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 3437758\n');
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(pointer), EDITOR);
    const state = await waitForEditor(pointer, ['fileError']);
    assert.match(state.error ?? '', /LFS/i, `error shown: ${state.error}`);
    assert.ok(!state.sent.includes('file'), 'a malformed file was sent as a file view');
    // Another command still works afterwards: compare two LoRAs in the worker.
    const { content, style } = await writePair(workspaceDir('after-error'));
    const report = await vscode.commands.executeCommand<{ text: string } | undefined>('ziplora.compareLoras', { first: content, second: style });
    assert.ok(report && report.text.length > 0, 'compareLoras returned a report after the error');
  });
});
