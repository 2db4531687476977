/**
 * The extension host entry. It parses headers only (cheap); anything that reads tensor data runs in the
 * worker child process.
 */
import * as vscode from 'vscode';
import { renderSummaryText } from '../core/format/summary-text';
import { openCheckpoint } from '../core/safetensors/checkpoint';
import { describeError } from '../core/safetensors/errors';
import { summarizeCheckpoint } from '../core/safetensors/summary';
import { registerCommands } from './commands';
import { EditorProbe, SafetensorsEditorProvider } from './editor/provider';
import { GpuPackageNotice } from './gpu-package-notice';
import { SAFETENSORS_EDITOR_VIEW_TYPE } from './editor/view-type';
import { Log } from './log';
import { MergePanelProbe, MergePanels } from './merge-panel';
import { MergeRunner } from './merge-runner';
import { registerRecipeFeatures } from './recipe-commands';

/** What activate() returns (the extension's `exports`): used by the extension tests and open to other extensions. */
export interface ZipLoraApi {
  /** The open safetensors editors, as tests may see them (bounded: EditorProbe). */
  readonly editors: EditorProbe;
  readonly runner: MergeRunner;
  /** The 'ZipLoRA' output channel's log (its recent lines). */
  readonly log: Log;
  /** The merge panel, as tests may see it and hand it messages (its webview is out of their reach). */
  readonly mergePanels: MergePanelProbe;
}

export function activate(context: vscode.ExtensionContext): ZipLoraApi {
  const log = new Log();
  const gpuNotice = new GpuPackageNotice(context.globalState, log);
  const runner = new MergeRunner(log, (start) => gpuNotice.onBackendChosen(start));
  const editors = new SafetensorsEditorProvider(context, log);
  const mergePanels = new MergePanels(context.extensionUri, runner, log);
  context.subscriptions.push(
    log,
    runner,
    editors,
    mergePanels,
    vscode.window.registerCustomEditorProvider(SAFETENSORS_EDITOR_VIEW_TYPE, editors, {
      // State is kept by the webview itself (setState); the host only keeps the file's header facts.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    }),
    vscode.commands.registerCommand('ziplora.editorState', (file: string) => editors.stateOf(file)),
    vscode.commands.registerCommand('ziplora.showHeader', async (resource?: vscode.Uri) => {
      const uri = resource ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { safetensors: ['safetensors', 'json'] } }))?.[0];
      if (!uri) return undefined;
      try {
        const checkpoint = await openCheckpoint(uri.fsPath);
        try {
          const summary = summarizeCheckpoint(checkpoint);
          log.line(renderSummaryText(summary));
          log.show();
          return summary;
        } finally {
          await checkpoint.close();
        }
      } catch (error) {
        void vscode.window.showErrorMessage(describeError(error));
        return undefined;
      }
    }),
  );
  registerCommands(context, runner, log, mergePanels);
  registerRecipeFeatures(context, runner, log);
  return { editors, runner, log, mergePanels };
}

export function deactivate(): void {}
