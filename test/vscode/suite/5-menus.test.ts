/**
 * Menus cannot be opened from the extension host and VS Code has no API that lists a menu's items for a
 * resource, so this evaluates the explorer/context `when` clauses of package.json against the context keys
 * VS Code sets for a right-clicked file (resourceExtname, listMultiSelection).
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, manifest } from './helpers';
import { evaluateWhen } from './when-clause';

function explorerItems(context: Record<string, unknown>): string[] {
  return manifest().contributes.menus['explorer/context'].filter((item) => evaluateWhen(item.when ?? 'true', context)).map((item) => item.command);
}

suite('explorer menu', () => {
  test('the items appear for one .safetensors file', () => {
    assert.deepEqual(explorerItems({ resourceExtname: '.safetensors', listMultiSelection: false }), ['ziplora.inspect', 'ziplora.mergeAsContent', 'ziplora.mergeAsStyle']);
  });

  test('with two .safetensors files selected, only Merge Selected appears', () => {
    assert.deepEqual(explorerItems({ resourceExtname: '.safetensors', listMultiSelection: true }), ['ziplora.mergeSelected']);
  });

  test('no item appears for other files', () => {
    for (const ext of ['.json', '.ckpt', '.txt', '']) {
      assert.deepEqual(explorerItems({ resourceExtname: ext, listMultiSelection: false }), [], `items shown for "${ext}"`);
      assert.deepEqual(explorerItems({ resourceExtname: ext, listMultiSelection: true }), [], `items shown for "${ext}" (multi-selection)`);
    }
  });

  test('every menu item names a registered command', async () => {
    await api();
    const registered = new Set(await vscode.commands.getCommands(true));
    const items = Object.values(manifest().contributes.menus).flat().map((i) => i.command);
    assert.deepEqual(items.filter((id) => !registered.has(id)), []);
  });
});
