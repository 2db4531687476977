/**
 * Recipe files in VS Code: a bad key is a diagnostic on that key (and goes when fixed); block names complete from
 * the inputs; the "Merge" CodeLens of a good two-input recipe writes the merged LoRA and its sidecar, carrying the
 * recipe, with the same bytes as `ziplora merge --recipe` on the command line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import { Recipe, recipeText } from '../../../src/core/merge/recipe';
import { readMergeRecipe } from '../../../src/core/merge/recipe-metadata';
import { MergeSummary, sidecarPathFor } from '../../../src/core/merge/request';
import { RECIPE_DIAGNOSTIC_SOURCE } from '../../../src/extension/recipe-diagnostics';
import { writePair } from '../../support/merge-fixtures';
import { api, closeAllEditors, extension, recordNotifications, waitFor, workspaceDir } from './helpers';

function recipeDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === RECIPE_DIAGNOSTIC_SOURCE);
}

suite('recipes', () => {
  suiteSetup(async () => {
    await api();
  });
  teardown(closeAllEditors);

  test('a recipe with an unknown key shows one diagnostic on the key, gone once the key is fixed', async () => {
    const dir = workspaceDir('recipe-diagnostics');
    const { content, style } = await writePair(dir);
    const file = path.join(dir, 'bad.ziplora.json');
    writeFileSync(file, `{\n  // two inputs\n  "inputs": [{ "path": "${path.basename(content)}" }, { "path": "${path.basename(style)}" }],\n  "output": "merged.safetensors",\n  "lamda": 0.1,\n}\n`);
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    assert.equal(document.languageId, 'jsonc', 'a recipe opens as JSON with Comments');
    const shown = await waitFor('the recipe diagnostic', () => (recipeDiagnostics(document.uri).length ? recipeDiagnostics(document.uri) : undefined));
    assert.deepEqual(shown.map((d) => d.message), ['lamda: unknown key "lamda": rename it to "lambda" or remove it']);
    assert.equal(document.getText(shown[0].range), '"lamda"');
    assert.equal(shown[0].severity, vscode.DiagnosticSeverity.Error);
    // The schema the extension contributes (jsonValidation) reaches VS Code's JSON language service too.
    const fromSchema = await waitFor('the JSON schema diagnostic', () => vscode.languages.getDiagnostics(document.uri).find((d) => d.source !== RECIPE_DIAGNOSTIC_SOURCE && /lamda/.test(d.message)));
    assert.equal(document.getText(fromSchema.range), '"lamda"', fromSchema.message);
    const fix = new vscode.WorkspaceEdit();
    fix.replace(document.uri, shown[0].range, '"lambda"');
    assert.ok(await vscode.workspace.applyEdit(fix));
    await waitFor('the diagnostic to go', () => recipeDiagnostics(document.uri).length === 0);
    await document.save();
  });

  test('block names complete from the inputs', async () => {
    const dir = workspaceDir('recipe-completion');
    const { content, style } = await writePair(dir);
    const file = path.join(dir, 'blocks.ziplora.json');
    const text = `{\n  "inputs": [{ "path": "${path.basename(content)}" }, { "path": "${path.basename(style)}" }],\n  "output": "merged.safetensors",\n  "blocks": [{ "block": "unet.", "method": "skip" }]\n}\n`;
    writeFileSync(file, text);
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    const position = document.positionAt(text.indexOf('unet.') + 'unet.'.length);
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', document.uri, position);
    const labels = list.items.map((item) => (typeof item.label === 'string' ? item.label : item.label.label));
    for (const block of ['unet.down_blocks.0', 'unet.mid_block', 'unet']) assert.ok(labels.includes(block), `${block} not offered: ${labels.join(', ')}`);
  });

  test('the Merge CodeLens of a good two-input recipe writes the merge, with the recipe, as the CLI does', async () => {
    const dir = workspaceDir('recipe-merge');
    const { content, style } = await writePair(dir);
    const recipe: Recipe = { inputs: [{ path: path.basename(content), weight: 1 }, { path: path.basename(style), weight: 0.8 }], output: 'merged.safetensors', blocks: [{ block: 'unet.mid_block', method: 'direct' }] };
    const file = path.join(dir, 'good.ziplora.json');
    writeFileSync(file, recipeText(recipe));
    const output = path.join(dir, 'merged.safetensors');
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    const settings = vscode.workspace.getConfiguration('ziplora');
    await settings.update('backend', 'wasm', vscode.ConfigurationTarget.Global);
    const notifications = recordNotifications();
    let summary: MergeSummary | undefined;
    try {
      const lenses = await waitFor('the recipe CodeLenses', async () => {
        const all = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri);
        const ours = (all ?? []).filter((lens) => lens.command?.command.startsWith('ziplora.'));
        return ours.length ? ours : undefined;
      });
      assert.deepEqual(lenses.map((lens) => [lens.command?.title, lens.command?.command]), [['$(play) Merge', 'ziplora.mergeRecipe'], ['Compare inputs', 'ziplora.compareRecipeInputs']]);
      const merge = lenses[0].command!;
      summary = await vscode.commands.executeCommand<MergeSummary | undefined>(merge.command, ...(merge.arguments ?? []));
    } finally {
      notifications.restore();
      await settings.update('backend', undefined, vscode.ConfigurationTarget.Global);
    }
    assert.ok(summary, `the merge returned no summary; notifications: ${JSON.stringify(notifications.shown)}`);
    assert.equal(summary.output, output);
    assert.ok(existsSync(output), `no merged LoRA at ${output}`);
    assert.ok(existsSync(sidecarPathFor(output)), 'no sidecar');
    assert.deepEqual(recipeDiagnostics(document.uri), []);
    // The merged file carries the recipe it was made from: `ziplora recipe` gives it back.
    assert.deepEqual(await readMergeRecipe(output), recipe);
    // The command line, on the same recipe, writes the same bytes.
    const fromLens = readFileSync(output);
    const cli = path.join(extension().extensionPath, 'dist', 'cli.js');
    // In Electron's extension host process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it Node (Node ignores it).
    await promisify(execFile)(process.execPath, [cli, 'merge', '--recipe', file, '--backend', 'wasm', '--force'], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    assert.ok(readFileSync(output).equals(fromLens), 'the CLI wrote other bytes than the CodeLens merge');
  });
});
