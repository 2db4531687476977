import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { MergeRequest, MergeSummary, sidecarPathFor } from '../../../src/core/merge/request';
import { folderSnapshot, partialsIn, phaseDelayEnv } from '../../support/interrupt';
import { BROKEN_INPUTS, mergeRequest, SD15_LAYERS, writePair } from '../../support/merge-fixtures';
import { api, recordCommands, recordNotifications, waitFor, workspaceDir } from './helpers';

suite('merge', () => {
  test('ziplora.mergeLoras with arguments writes the merged LoRA and the sidecar, and logs progress', async () => {
    const { log } = await api();
    const dir = workspaceDir('merge');
    const { content, style } = await writePair(dir);
    const output = path.join(dir, 'merged.safetensors');
    const before = log.recentLines().length;
    const summary = await vscode.commands.executeCommand<MergeSummary | undefined>('ziplora.mergeLoras', { content, style, output, backend: 'wasm' });
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

suite('merge: failures, refusals and interruptions as the user sees them', () => {
  const request = (content: string, style: string, output: string, overrides: Partial<MergeRequest> = {}) => mergeRequest(content, style, output, overrides);

  test('a failed merge shows one notification and logs the same text, for each kind of error', async () => {
    const { log, runner } = await api();
    const dir = workspaceDir('failed');
    const { content, style } = await writePair(dir);
    writeFileSync(path.join(dir, 'taken.safetensors'), 'an earlier file');
    await BROKEN_INPUTS.wide(path.join(dir, 'wide.safetensors'));
    const cases: [MergeRequest, RegExp][] = [
      [request(path.join(dir, 'missing.safetensors'), style, path.join(dir, 'a.safetensors')), /missing\.safetensors: no such file — check the path$/],
      [request(content, style, path.join(dir, 'taken.safetensors')), /taken\.safetensors: already exists — choose another output path, or allow overwriting \(--force\)$/],
      [request(content, path.join(dir, 'wide.safetensors'), path.join(dir, 'b.safetensors')), /^cannot merge content-kohya\.safetensors and wide\.safetensors: /],
    ];
    for (const [failing, pattern] of cases) {
      const before = log.recentLines().length;
      const notifications = recordNotifications();
      let result: MergeSummary | undefined;
      try {
        result = await runner.run(failing);
      } finally {
        notifications.restore();
      }
      assert.equal(result, undefined);
      assert.equal(notifications.shown.length, 1, JSON.stringify(notifications.shown));
      const [shown] = notifications.shown;
      assert.equal(shown.kind, 'error');
      const message = shown.text.replace(/^ZipLoRA merge failed: /, '');
      assert.match(message, pattern);
      const logged = log.recentLines().slice(before).filter((l) => / error: /.test(l));
      assert.deepEqual(logged.map((l) => l.replace(/^\[[0-9:]+\] error: /, '')), [message], 'the log has the notification\'s text');
    }
    assert.deepEqual(readdirSync(dir).sort(), ['content-kohya.safetensors', 'style-kohya.safetensors', 'taken.safetensors', 'wide.safetensors']);
  });

  test('a second merge while one runs is refused with a warning; ziplora.mergeRunning is set during the run and cleared after', async () => {
    const { runner } = await api();
    const dir = workspaceDir('second');
    const { content, style } = await writePair(dir);
    const commands = recordCommands();
    const notifications = recordNotifications();
    try {
      const first = runner.run(request(content, style, path.join(dir, 'first.safetensors'), { solver: 'adam', steps: 100_000 }));
      await waitFor('the first merge to run', () => runner.isRunning);
      const contextWhileRunning = commands.calls.filter((c) => c[0] === 'setContext' && c[1] === 'ziplora.mergeRunning').map((c) => c[2]);
      assert.deepEqual(contextWhileRunning, [true]);
      const second = await runner.run(request(content, style, path.join(dir, 'second.safetensors')));
      assert.equal(second, undefined);
      assert.deepEqual(notifications.shown, [{ kind: 'warning', text: 'A ZipLoRA merge is already running. Cancel it first, or wait for it to finish.' }]);
      assert.ok(runner.isRunning, 'the refusal stopped the first merge');
      runner.cancel();
      assert.equal(await first, undefined);
    } finally {
      commands.restore();
      notifications.restore();
    }
    assert.deepEqual(commands.calls.filter((c) => c[0] === 'setContext' && c[1] === 'ziplora.mergeRunning').map((c) => c[2]), [true, false]);
    assert.equal(runner.isRunning, false);
    assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('content-') && !f.startsWith('style-')), []);
  });

  test('Merge Selected with one or nine files says to select 2 to 8, and asks nothing', async () => {
    const dir = workspaceDir('selected');
    const { content, style } = await writePair(dir);
    const window = vscode.window as unknown as { showQuickPick: unknown };
    const showQuickPick = window.showQuickPick;
    let asked = 0;
    window.showQuickPick = () => (asked++, Promise.resolve(undefined));
    const notifications = recordNotifications();
    try {
      const uri = vscode.Uri.file;
      const nine = Array.from({ length: 9 }, (_, i) => uri(i % 2 ? style : content));
      assert.equal(await vscode.commands.executeCommand('ziplora.mergeSelected', uri(content), [uri(content)]), undefined);
      assert.equal(await vscode.commands.executeCommand('ziplora.mergeSelected', uri(content), nine), undefined);
    } finally {
      notifications.restore();
      window.showQuickPick = showQuickPick;
    }
    assert.deepEqual(notifications.shown, [
      { kind: 'error', text: 'Select 2 to 8 .safetensors files to merge (1 selected).' },
      { kind: 'error', text: 'Select 2 to 8 .safetensors files to merge (9 selected).' },
    ]);
    assert.equal(asked, 0, 'a quick pick was shown');
  });

  for (const [phase, action] of [['writing', 'SIGKILL of the worker'], ['writing-sidecar', 'ziplora.cancelMerge']] as const) {
    test(`${action} while ${phase}, over an existing output: the output, its sidecar and the folder are as they were`, async () => {
      const { log, runner } = await api();
      const logged = log.recentLines().length;
      const dir = workspaceDir(`interrupt-${phase}`);
      const { content, style } = await writePair(dir);
      const output = path.join(dir, 'merged.safetensors');
      writeFileSync(output, 'an earlier merged file');
      writeFileSync(sidecarPathFor(output), 'an earlier sidecar');
      const before = folderSnapshot(dir);
      const marker = path.join(workspaceDir('markers'), `${phase}.pid`);
      // The worker inherits the extension host's environment when it is forked; the variable is removed after.
      const saved = process.env.ZIPLORA_TEST_PHASE_DELAY;
      process.env.ZIPLORA_TEST_PHASE_DELAY = phaseDelayEnv(phase, 300, marker).ZIPLORA_TEST_PHASE_DELAY;
      let merging: Thenable<MergeSummary | undefined>;
      try {
        merging = vscode.commands.executeCommand<MergeSummary | undefined>('ziplora.mergeLoras', { content, style, output, overwrite: true, backend: 'wasm' });
        await waitFor(`the worker to reach ${phase}`, () => existsSync(marker));
      } finally {
        if (saved === undefined) delete process.env.ZIPLORA_TEST_PHASE_DELAY;
        else process.env.ZIPLORA_TEST_PHASE_DELAY = saved;
      }
      assert.ok(partialsIn(dir).length > 0, 'no temporary file was open when interrupted');
      if (action === 'ziplora.cancelMerge') await vscode.commands.executeCommand('ziplora.cancelMerge');
      else process.kill(Number(readFileSync(marker, 'utf8')), 'SIGKILL');
      assert.equal(await merging, undefined);
      assert.equal(runner.isRunning, false);
      assert.deepEqual(folderSnapshot(dir), before);
      const said = action === 'ziplora.cancelMerge' ? 'cancelled: no output was written' : 'error: the merge worker was killed (SIGKILL) before finishing; no output was written';
      assert.ok(log.recentLines().slice(logged).some((l) => l.endsWith(`] ${said}`)), `the log does not say "${said}"`);
    });
  }
});
