import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { MergeSummary } from '../../../src/core/merge/request';
import { SD15_LAYERS, writePair } from '../../support/merge-fixtures';
import { api, waitFor, workspaceDir } from './helpers';

suite('merge', () => {
  test('ziplora.mergeLoras with arguments writes the merged LoRA and the sidecar, and logs progress', async () => {
    const { log } = await api();
    const dir = workspaceDir('merge');
    const { content, style } = await writePair(dir);
    const output = path.join(dir, 'merged.safetensors');
    const before = log.recentLines().length;
    const summary = await vscode.commands.executeCommand<MergeSummary | undefined>('ziplora.mergeLoras', { content, style, output, steps: 20, backend: 'wasm' });
    assert.ok(summary, 'the merge returned no summary (see the ZipLoRA output lines above)');
    assert.equal(summary.layers.merged, SD15_LAYERS.length);
    assert.equal(summary.output, output);
    assert.ok(existsSync(output), `no merged LoRA at ${output}`);
    assert.ok(existsSync(summary.sidecar), `no sidecar at ${summary.sidecar}`);
    // Progress: the MergeRunner logs one "layer i/N" line per solved layer to the ZipLoRA output channel.
    const lines = log.recentLines().slice(before);
    for (let i = 1; i <= SD15_LAYERS.length; i++) {
      assert.ok(lines.some((l) => l.includes(`layer ${i}/${SD15_LAYERS.length} `)), `no "layer ${i}/${SD15_LAYERS.length}" line in:\n${lines.join('\n')}`);
    }
  });

  test('ziplora.cancelMerge during a merge leaves no output', async () => {
    const { log, runner } = await api();
    const dir = workspaceDir('cancel');
    const { content, style } = await writePair(dir);
    const output = path.join(dir, 'cancelled.safetensors');
    const before = log.recentLines().length;
    const merging = vscode.commands.executeCommand<MergeSummary | undefined>('ziplora.mergeLoras', { content, style, output, solver: 'adam', steps: 100_000, backend: 'wasm' });
    // Cancel once the worker has started solving (its backend line is logged).
    await waitFor('the merge to start', () => runner.isRunning && log.recentLines().slice(before).some((l) => /\] backend /.test(l)));
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('ziplora.cancelMerge');
    const result = await merging;
    assert.equal(result, undefined, 'a cancelled merge returned a summary');
    assert.equal(runner.isRunning, false);
    const left = readdirSync(dir).filter((f) => !f.startsWith('content-') && !f.startsWith('style-'));
    assert.deepEqual(left, [], `files left after cancel: ${left.join(', ')}`);
    assert.ok(log.recentLines().slice(before).some((l) => l.includes('cancelled: no output was written')), 'the log does not say the merge was cancelled');
  });

  test('the output channel receives the log', async () => {
    const { log } = await api();
    assert.equal(log.channel.name, 'ZipLoRA');
    const before = log.recentLines().length;
    const { content } = await writePair(workspaceDir('header'));
    const summary = await vscode.commands.executeCommand('ziplora.showHeader', vscode.Uri.file(content));
    assert.ok(summary, 'showHeader returned no summary');
    const lines = log.recentLines().slice(before);
    // renderSummaryText's line, as the channel shows it after the timestamp.
    assert.ok(lines.some((l) => new RegExp(`\\] Tensors\\s+${SD15_LAYERS.length * 3}$`).test(l)), `showHeader wrote no "Tensors 15" line:\n${lines.join('\n')}`);
  });
});
