import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { ComparisonView } from '../../../src/shared/webview-protocol';
import { SAFETENSORS_EDITOR_VIEW_TYPE as EDITOR } from '../../../src/extension/editor/view-type';
import { sidecarPathFor } from '../../../src/core/merge/request';
import { withSafetensors } from '../../../src/core/safetensors/reader';
import { readSidecar, SD15_LAYERS, writePair } from '../../support/merge-fixtures';
import { api, closeAllEditors, lastOfType, recordCommands, waitForEditor, wasSent, workspaceDir } from './helpers';

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
    assert.ok(!wasSent(state, 'file'), 'a malformed file was sent as a file view');
    // Another command still works afterwards: compare two LoRAs in the worker.
    const { content, style } = await writePair(workspaceDir('after-error'));
    const report = await vscode.commands.executeCommand<{ text: string } | undefined>('ziplora.compareLoras', { first: content, second: style });
    assert.ok(report && report.text.length > 0, 'compareLoras returned a report after the error');
  });
});

suite('the webview\'s requests, answered by the host', () => {
  suiteSetup(async () => {
    await api();
  });
  teardown(closeAllEditors);

  test('tensor statistics, layer coefficients and reveal file, on a merged LoRA with its sidecar', async () => {
    const { editors } = await api();
    const dir = workspaceDir('requests');
    const { content, style } = await writePair(dir);
    const merged = path.join(dir, 'merged.safetensors');
    assert.ok(await vscode.commands.executeCommand('ziplora.mergeLoras', { content, style, output: merged, backend: 'wasm' }), 'the merge failed');
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(merged), EDITOR);
    const state = await waitForEditor(merged, ['file']);
    assert.ok(state.view?.ziplora, 'the merged file was not shown with its sidecar');

    // Tensor statistics: computed in the worker from the file's values, checked here against the values read directly.
    const tensor = state.view.summary.tensors.find((t) => t.name.endsWith('lora_down.weight'))!;
    await editors.receiveFromWebview(merged, { type: 'requestTensorStats', name: tensor.name });
    const values = await withSafetensors(merged, (file) => file.readF32(tensor.name));
    // The last answer of its type: the host also sends other messages (the busy indicator) around it.
    const stats = lastOfType(editors.stateOf(merged)!, 'tensorStats');
    assert.ok(stats?.type === 'tensorStats' && stats.name === tensor.name && stats.stats, `answer: ${JSON.stringify(stats)}`);
    assert.equal(stats.stats.count, values.length);
    assert.equal(stats.stats.min, Math.min(...values));
    assert.equal(stats.stats.max, Math.max(...values));

    // Layer coefficients: the sidecar's m_c and m_s of that module, as inputs 0 and 1.
    const module = SD15_LAYERS[2].canonical;
    await editors.receiveFromWebview(merged, { type: 'requestLayerCoefficients', module });
    const { coefficients } = await readSidecar(sidecarPathFor(merged));
    const answer = lastOfType(editors.stateOf(merged)!, 'layerCoefficients');
    assert.ok(answer?.type === 'layerCoefficients' && answer.module === module && !answer.error, `answer: ${JSON.stringify(answer)?.slice(0, 300)}`);
    assert.deepEqual(answer.inputs, [0, 1]);
    assert.deepEqual(answer.m, [[...coefficients.get(module)!.mContent], [...coefficients.get(module)!.mStyle]]);

    // Reveal file: the merged file and the sidecar, in the explorer.
    const commands = recordCommands();
    try {
      await editors.receiveFromWebview(merged, { type: 'revealFile', which: 'merged' });
      await editors.receiveFromWebview(merged, { type: 'revealFile', which: 'sidecar' });
      await editors.receiveFromWebview(merged, { type: 'revealFile', which: '../../etc/passwd' });
    } finally {
      commands.restore();
    }
    const revealed = commands.calls.filter((c) => c[0] === 'revealInExplorer').map((c) => (c[1] as vscode.Uri).fsPath);
    assert.deepEqual(revealed, [merged, sidecarPathFor(merged)], 'a malformed reveal request must reveal nothing');
  });
});

suite('compare', () => {
  test('the compare report names its pairing: paired, only in A, only in B, refused', async () => {
    const { content, style } = await writePair(workspaceDir('compare-text'), { styleLayers: SD15_LAYERS.slice(1) });
    const report = await vscode.commands.executeCommand<{ text: string } | undefined>('ziplora.compareLoras', { first: content, second: style });
    assert.ok(report, 'compareLoras returned no report');
    assert.match(report.text, new RegExp(`^Pairing\\s+${SD15_LAYERS.length - 1} paired, 1 only in A, 0 only in B, 0 refused$`, 'm'));
  });

  test('{ files } compares every pair of three LoRAs; more than eight files are refused', async () => {
    const { content, style } = await writePair(workspaceDir('compare-three'), { styleLayers: SD15_LAYERS.slice(1) });
    const report = await vscode.commands.executeCommand<{ text: string; view: ComparisonView } | undefined>('ziplora.compareLoras', { files: [content, style, content] });
    assert.ok(report, 'compareLoras returned no report');
    assert.deepEqual(report.view.pairs.map((p) => [p.a, p.b, p.paired]), [[0, 1, SD15_LAYERS.length - 1], [0, 2, SD15_LAYERS.length], [1, 2, SD15_LAYERS.length - 1]]);
    assert.match(report.text, /^block\s+A·B\s+A·C\s+B·C$/m);
    const refused = await vscode.commands.executeCommand('ziplora.compareLoras', { files: Array(9).fill(content) });
    assert.equal(refused, undefined, 'nine files: an error message, no report');
  });
});
