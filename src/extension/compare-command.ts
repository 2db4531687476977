/**
 * The Compare command: 2 to 8 LoRAs compared pair by pair in the worker. Accepts `{ files: [...] }` (or the
 * two-file `{ first, second }` it always has) from other extensions and tests, and asks a person for the files
 * otherwise: A, B, then more until they choose to compare.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { fileLetter, MAX_COMPARED_FILES, MIN_COMPARED_FILES } from '../core/lora/compare-many';
import { runWorkerTask } from '../worker/client';
import { showComparisonPanel } from './compare-panel';
import { DisposableSet } from './disposables';
import { Log } from './log';

export interface CompareCommandArgs {
  readonly files?: readonly string[];
  readonly first?: string;
  readonly second?: string;
}

export interface CompareHost {
  readonly extensionUri: vscode.Uri;
  readonly log: Log;
  readonly panels: DisposableSet;
  /** Asks for one .safetensors file (the quick pick of the merge commands), leaving out `exclude`. */
  readonly pick: (title: string, exclude: string[]) => Promise<string | undefined>;
}

/** What was given, checked: the files, or the reason they cannot be compared. */
export function givenFiles(args: CompareCommandArgs | undefined): { files?: string[]; problem?: string } {
  if (args?.files !== undefined) {
    const files = args.files;
    if (!Array.isArray(files) || !files.every((f) => typeof f === 'string' && f.length > 0)) return { problem: '`files` must be a list of .safetensors paths' };
    if (files.length < MIN_COMPARED_FILES || files.length > MAX_COMPARED_FILES) return { problem: `compare takes ${MIN_COMPARED_FILES} to ${MAX_COMPARED_FILES} files (got ${files.length})` };
    return { files: [...files] };
  }
  return args?.first && args.second ? { files: [args.first, args.second] } : {};
}

/** A, B (with what was given), then "another?" until the person compares or eight are chosen. */
async function askFiles(args: CompareCommandArgs | undefined, host: CompareHost): Promise<string[] | undefined> {
  const files: string[] = [];
  const start = [args?.first, args?.second].filter((f): f is string => Boolean(f));
  for (const given of start) files.push(given);
  while (files.length < MIN_COMPARED_FILES) {
    const picked = await host.pick(`ZipLoRA: compare — LoRA ${fileLetter(files.length)}`, files);
    if (!picked) return undefined;
    files.push(picked);
  }
  while (files.length < MAX_COMPARED_FILES) {
    const compareNow = `$(check) Compare ${files.map((f, i) => `${fileLetter(i)}: ${path.basename(f)}`).join(', ')}`;
    const choice = await vscode.window.showQuickPick([compareNow, `$(add) Add LoRA ${fileLetter(files.length)}…`], { title: 'ZipLoRA: compare' });
    if (!choice) return undefined;
    if (choice === compareNow) break;
    const picked = await host.pick(`ZipLoRA: compare — LoRA ${fileLetter(files.length)}`, files);
    if (picked) files.push(picked);
  }
  return files;
}

/** Compares in the worker; shows the panel when a person picked the files (callers with paths get the report). */
export async function compareLoras(args: CompareCommandArgs | undefined, host: CompareHost) {
  const given = givenFiles(args);
  if (given.problem) {
    void vscode.window.showErrorMessage(`ZipLoRA compare: ${given.problem}`);
    return undefined;
  }
  const files = given.files ?? (await askFiles(args, host));
  if (!files) return undefined;
  const names = files.map((f) => path.basename(f));
  try {
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ZipLoRA: comparing ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`, cancellable: true },
      async (_, token) => {
        const controller = new AbortController();
        const cancelling = token.onCancellationRequested(() => controller.abort());
        try {
          return await runWorkerTask({ kind: 'compare', files }, controller.signal);
        } finally {
          cancelling.dispose();
        }
      },
    );
    host.log.line(`compared ${files.join(', ')}`);
    host.log.line(report.text);
    if (!given.files) showComparisonPanel(host.extensionUri, report.view, host.panels);
    return report;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message !== 'cancelled') {
      host.log.line(`error: ${message}`);
      void vscode.window.showErrorMessage(`ZipLoRA compare: ${message}`);
    }
    return undefined;
  }
}
