/**
 * The extension host entry. It only parses headers here (cheap); anything that reads tensor data runs in
 * the worker child process.
 */
import * as vscode from 'vscode';
import { openCheckpoint } from '../core/safetensors/checkpoint';
import { describeError } from '../core/safetensors/errors';
import { summarizeCheckpoint } from '../core/safetensors/summary';
import { renderSummaryText } from '../core/format/summary-text';

export const OUTPUT_CHANNEL_NAME = 'ZipLoRA';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME);
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('ziplora.showHeader', async (resource?: vscode.Uri) => {
      const uri = resource ?? (await pickSafetensorsFile());
      if (!uri) return undefined;
      try {
        const checkpoint = await openCheckpoint(uri.fsPath);
        try {
          const summary = summarizeCheckpoint(checkpoint);
          output.appendLine(renderSummaryText(summary));
          output.appendLine('');
          output.show(true);
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
}

async function pickSafetensorsFile(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { safetensors: ['safetensors', 'json'] },
    title: 'Choose a .safetensors file or a sharded checkpoint index',
  });
  return picked?.[0];
}

export function deactivate(): void {}
