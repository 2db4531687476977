/**
 * The commands that lead to a merge of several LoRAs: Merge Selected (2 to 8 files from the explorer), Open Merge
 * Panel…, and the first step of Merge LoRAs… (pick 2 to 8). Two files keep the quick two-file flow (content and
 * style, asked in turn); three or more open the merge panel, where weights, blocks and λ are set.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { isSidecar, MAX_INPUTS, MIN_INPUTS } from '../core/merge/request';
import { MergePanels } from './merge-panel';
import { selectionRoute } from './merge-panel-request';

/** The quick two-file merge: `content` and `style` known, the method and options still to ask. */
export type MergeTwo = (content: string, style: string) => Promise<unknown>;

const BROWSE = '$(folder-opened) Browse…';

/** Several LoRAs from the workspace (or browsed for), in the order listed; undefined when the user stops. */
export async function pickLoras(title: string): Promise<string[] | undefined> {
  const found = await vscode.workspace.findFiles('**/*.safetensors', '**/node_modules/**', 2000);
  const files = found.map((u) => u.fsPath).filter((f) => !isSidecar(f)).sort();
  const items: vscode.QuickPickItem[] = [
    ...files.map((f) => ({ label: path.basename(f), description: vscode.workspace.asRelativePath(path.dirname(f)), detail: f })),
    { label: BROWSE, description: 'LoRAs outside the workspace', alwaysShow: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: `Tick ${MIN_INPUTS} to ${MAX_INPUTS} LoRAs (Space), then Enter`, canPickMany: true, matchOnDescription: true });
  if (!picked?.length) return undefined;
  const chosen = picked.flatMap((item) => (item.detail ? [item.detail] : []));
  if (picked.some((item) => item.label === BROWSE)) {
    const browsed = await vscode.window.showOpenDialog({ title, canSelectMany: true, filters: { LoRA: ['safetensors'] } });
    if (!browsed) return undefined;
    chosen.push(...browsed.map((u) => u.fsPath).filter((f) => !isSidecar(f) && !chosen.includes(f)));
  }
  return chosen;
}

/** Which of two files is the content LoRA (the other is the style); undefined when the user stops. */
async function askContent(files: readonly [string, string]): Promise<[string, string] | undefined> {
  const content = await vscode.window.showQuickPick(
    files.map((f) => ({ label: path.basename(f), detail: f })),
    { title: 'ZipLoRA: which one is the content (subject) LoRA?' },
  );
  if (!content?.detail) return undefined;
  return [content.detail, files.find((f) => f !== content.detail)!];
}

/** Two files → the two-file flow; 3 to 8 → the panel; else an error naming the count. */
async function route(files: readonly string[], panels: MergePanels, mergeTwo: MergeTwo): Promise<unknown> {
  const where = selectionRoute(files.length);
  if (where === 'two') {
    const pair = await askContent([files[0], files[1]]);
    return pair ? mergeTwo(...pair) : undefined;
  }
  if (where === 'panel') {
    panels.show(files);
    return undefined;
  }
  void vscode.window.showErrorMessage(where);
  return undefined;
}

export function registerMergePanelCommands(context: vscode.ExtensionContext, panels: MergePanels, mergeTwo: MergeTwo): void {
  const register = (id: string, handler: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  register('ziplora.mergeSelected', (uri?: vscode.Uri, selected?: vscode.Uri[]) => {
    const files = (selected?.length ? selected : uri ? [uri] : []).map((u) => u.fsPath);
    return route(files, panels, mergeTwo);
  });
  // Files may be given (other extensions, tests, keybindings); otherwise they are picked.
  register('ziplora.openMergePanel', async (files?: readonly (string | vscode.Uri)[]) => {
    const given = files?.map((f) => (typeof f === 'string' ? f : f.fsPath));
    const chosen = given ?? (await pickLoras('ZipLoRA: LoRAs to merge'));
    if (!chosen) return;
    if (chosen.length > MAX_INPUTS) {
      void vscode.window.showErrorMessage(`A merge takes at most ${MAX_INPUTS} LoRAs (${chosen.length} chosen): the panel opens with the first ${MAX_INPUTS}.`);
    }
    panels.show(chosen.slice(0, MAX_INPUTS));
  });
}

/** Merge LoRAs… without arguments: pick 2 to 8, then the two-file flow or the panel (as Merge Selected). */
export async function pickAndRoute(panels: MergePanels, mergeTwo: MergeTwo): Promise<unknown> {
  const files = await pickLoras('ZipLoRA: LoRAs to merge');
  return files ? route(files, panels, mergeTwo) : undefined;
}
