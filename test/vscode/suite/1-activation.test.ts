import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { writePair } from '../../support/merge-fixtures';
import { closeAllEditors, extension, waitFor, workspaceDir } from './helpers';

suite('activation', () => {
  test('the extension activates when a .safetensors file is opened', async () => {
    // This suite runs first: nothing has touched the extension yet (no .safetensors file, command, recipe or JSONC
    // document has been opened: its activation events).
    assert.equal(extension().isActive, false, 'the extension was active before any .safetensors file was opened');
    const { content } = await writePair(workspaceDir('activation'));
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(content));
    await waitFor('the extension to activate', () => extension().isActive, 30_000);
    const exports = extension().exports;
    assert.ok(exports.editors && exports.runner && exports.log, 'activate() returned its API');
    await closeAllEditors();
  });
});
