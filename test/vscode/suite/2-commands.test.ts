import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, manifest } from './helpers';

suite('commands', () => {
  test('every command contributed in package.json is registered', async () => {
    await api();
    const contributed = manifest().contributes.commands.map((c) => c.command);
    assert.ok(contributed.length >= 8, `package.json contributes ${contributed.length} commands`);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });
});
