/**
 * Runs a merge from VS Code: the worker child process does the work; here are the progress notification with
 * a working Cancel, the log, the status-bar item naming the backend and device, and the outcome's buttons.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { MergeProgressTracker } from '../core/format/merge-progress';
import { inputLabel, MergeRequest, MergeStart, MergeSummary } from '../core/merge/request';
import { MergeCancelledError, RunningMerge, startMerge } from '../worker/client';
import { SAFETENSORS_EDITOR_VIEW_TYPE } from './editor/view-type';
import { Log } from './log';

export class MergeRunner implements vscode.Disposable {
  private running: RunningMerge | undefined;
  private readonly status = vscode.window.createStatusBarItem('ziplora.merge', vscode.StatusBarAlignment.Left, 10);

  /** `onBackendChosen` hears which backend each merge runs on and why faster ones were skipped (the GPU package notice). */
  constructor(private readonly log: Log, private readonly onBackendChosen: (start: MergeStart) => Promise<void> = async () => undefined) {
    this.status.name = 'ZipLoRA merge';
    this.status.command = 'ziplora.cancelMerge';
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  cancel(): boolean {
    if (!this.running) return false;
    this.log.line('cancel requested');
    this.running.cancel();
    return true;
  }

  /** Runs the merge; resolves with the summary, or undefined when it failed or was cancelled (already shown). */
  async run(request: MergeRequest, options: { quiet?: boolean } = {}): Promise<MergeSummary | undefined> {
    if (this.running) {
      void vscode.window.showWarningMessage('A ZipLoRA merge is already running. Cancel it first, or wait for it to finish.');
      return undefined;
    }
    const count = request.inputs.length;
    this.log.line(`merge ${request.method}: ${request.inputs.map((input, i) => `${inputLabel(i, count)} ${input.path}${input.weight !== 1 ? ` ×${input.weight}` : ''}`).join(', ')} → ${request.output}`);
    this.log.line(`settings: solver ${request.solver}, steps ${request.steps}, lambda ${request.lambda}, lr ${request.learningRate}, columns ${request.columns}, backend ${request.backend}`);
    await vscode.commands.executeCommand('setContext', 'ziplora.mergeRunning', true);
    try {
      const summary = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `ZipLoRA: merging ${request.inputs.map((input) => path.basename(input.path)).join(' + ')}`, cancellable: true },
        (progress, token) => this.runWithProgress(request, progress, token),
      );
      const { layers } = summary;
      this.log.line(`done: merged ${layers.merged} layers, copied ${layers.copied.reduce((a, b) => a + b, 0)}, not written ${layers.notWritten}, refused ${layers.refused} in ${summary.seconds.toFixed(1)} s on ${summary.backend} (${summary.device})`);
      this.log.line(`wrote ${summary.output} and ${summary.sidecar}`);
      const file = (input: number) => `${inputLabel(input, count)} (${summary.inputs[input].file})`;
      for (const c of summary.unmerged.copied) this.log.line(`copied ${c.weight === 1 ? 'unchanged' : `scaled by ${c.weight}`} from ${file(c.input)}: ${c.module}${c.writtenAs ? ` (written as ${c.writtenAs.join(' + ')})` : ''}`);
      for (const t of summary.unmerged.leftOut) this.log.line(`left out of ${file(t.input)}: ${t.tensor} (${t.reason})`);
      if (!options.quiet) void this.offerResult(summary);
      return summary;
    } catch (error) {
      if (error instanceof MergeCancelledError) {
        this.log.line('cancelled: no output was written');
        if (!options.quiet) void vscode.window.showInformationMessage('ZipLoRA merge cancelled; no output was written.');
        return undefined;
      }
      const message = error instanceof Error ? error.message : String(error);
      this.log.line(`error: ${message}`);
      const detail = (error as { detail?: string }).detail;
      if (detail) this.log.line(detail);
      if (!options.quiet) {
        void vscode.window.showErrorMessage(`ZipLoRA merge failed: ${message}`, 'Open Log').then((choice) => choice && this.log.show());
      }
      return undefined;
    } finally {
      this.running = undefined;
      this.status.hide();
      await vscode.commands.executeCommand('setContext', 'ziplora.mergeRunning', false);
    }
  }

  private runWithProgress(request: MergeRequest, progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken): Promise<MergeSummary> {
    let reported = 0;
    let layers = 0;
    let solved = 0;
    const tracker = new MergeProgressTracker();
    const count = request.inputs.length;
    this.running = startMerge(request, {
      onStart: (start) => {
        layers = start.merged;
        const copied = start.copied.map((n, i) => `${n} only in ${inputLabel(i, start.copied.length)}`).join(', ');
        this.log.line(`backend ${start.backend} on ${start.device}, ${start.threads} compute thread${start.threads === 1 ? '' : 's'}; ${start.merged} layers to merge, ${copied}, ${start.notWritten} not written, ${start.refused.length} refused`);
        for (const skipped of start.skipped) this.log.line(`skipped backend ${skipped}`);
        void this.onBackendChosen(start);
        for (const refused of start.refused) this.log.line(`refused ${refused.module}: ${refused.reason}`);
        this.status.text = `$(sync~spin) ZipLoRA: ${start.backend}`;
        this.status.tooltip = `ZipLoRA merge running on ${start.backend} (${start.device}). Click to cancel.`;
        this.status.show();
      },
      onProgress: (p) => {
        const view = tracker.update(p);
        if (!view) return;
        // The notification's bar adds increments: report only the part not shown yet.
        progress.report({ message: view.text, increment: Math.max(0, 100 * view.fraction - reported) });
        reported = Math.max(reported, 100 * view.fraction);
      },
      onLayer: (report) => {
        solved++;
        const errors = report.inputs.map((input, k) => `${inputLabel(input, count)} error ${report.errors[k].toExponential(3)} (direct ${report.directErrors[k].toExponential(3)})`).join(', ');
        const overlap = report.pairs.map((p) => `${p.overlapBefore.toFixed(4)} → ${p.overlapAfter.toFixed(4)}`).join(', ');
        this.log.line(`layer ${solved}/${layers} ${report.module} (${report.method}): ${errors}; overlap ${overlap}${report.method === 'zip' ? `; λ ${report.lambda}` : ''}`);
      },
    });
    const cancelling = token.onCancellationRequested(() => this.cancel());
    return this.running.result.finally(() => cancelling.dispose());
  }

  private async offerResult(summary: MergeSummary): Promise<void> {
    const count = summary.inputs.length;
    const errors = summary.meanErrors.map((e, i) => `${inputLabel(i, count)} ${e.toExponential(2)} (${summary.meanDirectErrors[i].toExponential(2)})`).join(', ');
    const text = `Merged ${summary.layers.merged} layers into ${path.basename(summary.output)} in ${summary.seconds.toFixed(1)} s. Mean error vs direct merge: ${errors}.`;
    const choice = await vscode.window.showInformationMessage(text, 'Open Charts', 'Reveal Merged File');
    if (choice === 'Open Charts') await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(summary.sidecar), SAFETENSORS_EDITOR_VIEW_TYPE);
    if (choice === 'Reveal Merged File') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(summary.output));
  }

  dispose(): void {
    this.running?.cancel();
    this.status.dispose();
  }
}
