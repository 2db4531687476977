/**
 * The merge panel in VS Code: Merge Selected with three files opens it, the worker's overlap per block reaches it,
 * and a merge and a recipe started from it (as its page posts them: `mergePanels.receiveFromWebview`, since the
 * webview's iframe is out of the tests' reach) write the merged LoRA and NAME.ziplora.json.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { blockOf } from '../../../src/core/lora/network-blocks';
import { sidecarPathFor } from '../../../src/core/merge/request';
import type { MergePanelState } from '../../../src/extension/merge-panel';
import type { MergePanelSettings } from '../../../src/shared/merge-panel-protocol';
import { SD15_LAYERS, writePair } from '../../support/merge-fixtures';
import { api, closeAllEditors, recordNotifications, waitFor, workspaceDir } from './helpers';

/** Three small SD1.5 LoRAs: a content/style pair and a third from another seed. */
async function threeLoras(): Promise<string[]> {
  const dir = workspaceDir('panel');
  const { content, style } = await writePair(dir);
  const other = await writePair(workspaceDir('panel-other'), { seed: 2 });
  const third = path.join(dir, 'detail.safetensors');
  renameSync(other.content, third);
  return [content, style, third];
}

function panelState(): Promise<MergePanelState> {
  return api().then((a) => waitFor('the merge panel to open', () => a.mergePanels.state()));
}

suite('merge panel', () => {
  let files: string[];
  let opened: MergePanelState;
  const blocks = [...new Set(SD15_LAYERS.map((l) => blockOf(l.canonical).name))];

  suiteSetup(async () => {
    // The panel's merge takes the backend from the settings, as a person's would: WebAssembly here.
    await vscode.workspace.getConfiguration('ziplora').update('backend', 'wasm', vscode.ConfigurationTarget.Global);
  });

  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('ziplora').update('backend', undefined, vscode.ConfigurationTarget.Global);
    await closeAllEditors();
  });

  test('Merge Selected with three files opens the panel with them, and the overlap of each pair per block arrives', async () => {
    files = await threeLoras();
    const uri = vscode.Uri.file;
    const notifications = recordNotifications();
    try {
      await vscode.commands.executeCommand('ziplora.mergeSelected', uri(files[0]), files.map((f) => uri(f)));
      opened = await panelState();
    } finally {
      notifications.restore();
    }
    assert.deepEqual(notifications.shown, [], 'nothing is refused or asked');
    assert.deepEqual(opened.settings.inputs, files.map((path) => ({ path, weight: 1 })));
    assert.equal(opened.settings.output, path.join(path.dirname(files[0]), 'content-kohya+style-kohya+detail.safetensors'));
    const { mergePanels } = await api();
    // The worker may finish before the page has loaded: wait for both, the page's state and the overlap sent to it.
    const state = await waitFor('the overlap, and the page to be sent its state', () => {
      const s = mergePanels.state();
      if (s?.overlap?.status === 'error') return s;
      return s?.overlap?.status === 'done' && s.recent.some((m) => m.type === 'panelState') && s.recent.some((m) => m.type === 'overlap' && m.overlap.status === 'done') ? s : undefined;
    }, 120_000);
    assert.ok(state.overlap?.status === 'done', `the overlap failed: ${JSON.stringify(state.overlap)}`);
    const overlap = state.overlap.overlap;
    assert.deepEqual(overlap.pairs, [[0, 1], [0, 2], [1, 2]]);
    assert.deepEqual(overlap.blocks.map((b) => b.block).sort(), [...blocks].sort());
    for (const block of overlap.blocks) for (const value of block.meanAbsCosine) assert.ok(value !== null && value >= 0 && value <= 1, `${block.block}: ${value}`);
    // The page asked for its state as it loaded, and was sent it and the overlap.
    assert.ok(state.recent.some((m) => m.type === 'panelState'), 'the page was sent the panel state');
    assert.ok(state.recent.some((m) => m.type === 'overlap' && m.overlap.status === 'done'), 'the page was sent the overlap');
  });

  test('Merge LoRAs… without arguments: three LoRAs ticked open them in the panel', async () => {
    const { mergePanels } = await api();
    const window = vscode.window as unknown as { showQuickPick: unknown };
    const showQuickPick = window.showQuickPick;
    let title = '';
    // The person ticks the three LoRAs (and leaves the rest of the workspace's files).
    window.showQuickPick = (items: readonly vscode.QuickPickItem[], options: vscode.QuickPickOptions) => {
      title = `${options.title} (${options.canPickMany ? 'many' : 'one'})`;
      return Promise.resolve(items.filter((item) => item.detail && files.includes(item.detail)));
    };
    try {
      await vscode.commands.executeCommand('ziplora.mergeLoras');
    } finally {
      window.showQuickPick = showQuickPick;
    }
    assert.equal(title, 'ZipLoRA: LoRAs to merge (many)');
    // The picker lists files sorted by path: the panel has the three, in that order.
    assert.deepEqual(mergePanels.state()?.settings.inputs.map((i) => i.path), [...files].sort());
    // Back to the files as Merge Selected gave them, for the tests below.
    await vscode.commands.executeCommand('ziplora.openMergePanel', files);
    assert.deepEqual(mergePanels.state()?.settings.inputs.map((i) => i.path), files);
  });

  test('Merge from the panel runs the merge with its weights and block rules, and says so in the panel', async () => {
    const { mergePanels, log } = await api();
    const output = path.join(path.dirname(files[0]), 'panel-merged.safetensors');
    const settings: MergePanelSettings = {
      ...opened.settings,
      inputs: [{ path: files[0], weight: 1 }, { path: files[1], weight: 0.5 }, { path: files[2], weight: 1 }],
      output,
      blocks: [{ block: 'unet.mid_block', weights: [1, 1, 0] }],
    };
    const before = log.recentLines().length;
    await mergePanels.receiveFromWebview({ type: 'merge', settings });
    const lines = log.recentLines().slice(before);
    assert.ok(existsSync(output), `no merged LoRA at ${output}; the log:\n${lines.join('\n')}`);
    assert.ok(existsSync(sidecarPathFor(output)), 'no sidecar');
    const recent = mergePanels.state()!.recent;
    const outcome = recent.filter((m) => m.type === 'outcome').at(-1);
    assert.match(outcome?.type === 'outcome' ? outcome.lines.join(' ') : '', new RegExp(`^Merged \\d+ layers into panel-merged\\.safetensors in `));
    assert.deepEqual(recent.filter((m) => m.type === 'running').slice(-2), [{ type: 'running', running: true }, { type: 'running', running: false }]);
    // The merged file carries the inputs with their weights.
    const header = readFileSync(output).subarray(8, 8 + Number(readFileSync(output).readBigUInt64LE(0))).toString('utf8');
    const inputs = JSON.parse(JSON.parse(header).__metadata__.ziplora_inputs) as { file: string; weight: number }[];
    assert.deepEqual(inputs.map((i) => [i.file, i.weight]), [['content-kohya.safetensors', 1], ['style-kohya.safetensors', 0.5], ['detail.safetensors', 1]]);
  });

  test('Save Recipe… writes NAME.ziplora.json with paths relative to it; an invalid panel is refused in the panel', async () => {
    const { mergePanels } = await api();
    const dir = path.dirname(files[0]);
    const window = vscode.window as unknown as { showSaveDialog: unknown };
    const showSaveDialog = window.showSaveDialog;
    // The user types a name without the recipe ending: it is added.
    window.showSaveDialog = () => Promise.resolve(vscode.Uri.file(path.join(dir, 'three-way.json')));
    try {
      const settings: MergePanelSettings = { ...opened.settings, lambda: 'auto', blocks: [{ block: 'unet.down_blocks.0', method: 'direct' }] };
      await mergePanels.receiveFromWebview({ type: 'saveRecipe', settings });
      const file = path.join(dir, 'three-way.ziplora.json');
      assert.ok(existsSync(file), `no recipe at ${file}`);
      const recipe = JSON.parse(readFileSync(file, 'utf8'));
      assert.deepEqual(recipe.inputs, [{ path: 'content-kohya.safetensors', weight: 1 }, { path: 'style-kohya.safetensors', weight: 1 }, { path: 'detail.safetensors', weight: 1 }]);
      assert.equal(recipe.output, 'content-kohya+style-kohya+detail.safetensors');
      assert.equal(recipe.lambda, 'auto');
      assert.deepEqual(recipe.blocks, [{ block: 'unet.down_blocks.0', method: 'direct' }]);

      await mergePanels.receiveFromWebview({ type: 'saveRecipe', settings: { ...settings, inputs: settings.inputs.map((i) => ({ ...i, weight: 9 })) } });
      const outcome = mergePanels.state()!.recent.filter((m) => m.type === 'outcome').at(-1);
      assert.ok(outcome?.type === 'outcome' && outcome.kind === 'error', 'the refusal is shown in the panel');
      assert.match(outcome.lines.join('\n'), /^The inputs must be a list of 2 to 8 inputs/m);
    } finally {
      window.showSaveDialog = showSaveDialog;
    }
  });
});
