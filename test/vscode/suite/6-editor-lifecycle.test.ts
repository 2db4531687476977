/**
 * Opening and closing the safetensors editor releases what it registered: after 50 rounds the listeners and
 * resources the open editors hold (EditorProbe.liveSubscriptions) are back at their count with none open.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { SAFETENSORS_EDITOR_VIEW_TYPE } from '../../../src/extension/editor/view-type';
import { writePair } from '../../support/merge-fixtures';
import { api, closeAllEditors, manifest, waitFor, waitForEditor, workspaceDir } from './helpers';

const ROUNDS = 50;

suite('editor lifecycle', () => {
  suiteSetup(async () => {
    await api();
  });
  teardown(closeAllEditors);

  test('package.json contributes the editor under the view type the extension registers', () => {
    assert.deepEqual(manifest().contributes.customEditors.map((e) => e.viewType), [SAFETENSORS_EDITOR_VIEW_TYPE]);
  });

  test(`opening and closing an editor ${ROUNDS} times leaves no listener behind`, async function () {
    this.timeout(ROUNDS * 10_000);
    const { editors } = await api();
    await closeAllEditors();
    const baseline = editors.liveSubscriptions();
    const { content } = await writePair(workspaceDir('lifecycle'));
    const whileOpen: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(content), SAFETENSORS_EDITOR_VIEW_TYPE);
      await waitForEditor(content, ['file']);
      whileOpen.push(editors.liveSubscriptions());
      await closeAllEditors();
      await waitFor(`the editor of round ${round + 1} to close`, () => editors.stateOf(content) === undefined);
      assert.equal(editors.liveSubscriptions(), baseline, `after closing the editor of round ${round + 1}`);
    }
    assert.ok(whileOpen[0] > baseline, `an open editor holds listeners (${whileOpen[0]} with one open, ${baseline} with none)`);
    assert.deepEqual(new Set(whileOpen), new Set([whileOpen[0]]), `each round holds as many as the first: ${whileOpen.join(', ')}`);
  });
});
