/** Shared by the extension test suites (bundled into each one). */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { EditorState } from '../../../src/extension/editor/provider';
import type { ZipLoraApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'ziplora.ziplora-vscode';

export function extension(): vscode.Extension<ZipLoraApi> {
  const found = vscode.extensions.getExtension<ZipLoraApi>(EXTENSION_ID);
  assert.ok(found, `extension ${EXTENSION_ID} is not loaded in this VS Code`);
  return found;
}

/** The extension's API after activation (activates it when needed). */
export async function api(): Promise<ZipLoraApi> {
  return extension().activate();
}

/** A fresh folder inside the opened workspace (the launcher/runTests opens one). */
export function workspaceDir(name: string): string {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(root, 'the tests need an opened workspace folder');
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `ziplora.editorState` until the editor on `file` has recently posted every message type in `types`. */
export function waitForEditor(file: string, types: string[]): Promise<EditorState> {
  return waitFor(`the editor on ${path.basename(file)} to be sent ${types.join(', ')}`, async () => {
    const state = await vscode.commands.executeCommand<EditorState | undefined>('ziplora.editorState', file);
    return state && types.every((t) => wasSent(state, t)) ? state : undefined;
  });
}

/** The editor's most recent message of this type to its webview, if any is among its recent ones. */
export function lastOfType(state: EditorState, type: string): EditorState['recent'][number] | undefined {
  return state.recent.filter((message) => message.type === type).at(-1);
}

/** Whether a message of this type is among the editor's recent messages to its webview. */
export function wasSent(state: EditorState, type: string): boolean {
  return state.recent.some((message) => message.type === type);
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** package.json of the extension under test (its contributions). */
export function manifest(): { contributes: { commands: { command: string }[]; menus: Record<string, { command: string; when?: string }[]>; customEditors: { viewType: string }[] } } {
  return extension().packageJSON;
}

export interface Shown {
  readonly kind: 'error' | 'warning' | 'information';
  readonly text: string;
}

/**
 * Records the notifications the extension shows (the extension host hands this test and the extension under
 * test the same `vscode` API object), answering each as if the user dismissed it. Call `restore` when done.
 */
export function recordNotifications(): { shown: Shown[]; restore(): void } {
  const shown: Shown[] = [];
  const window = vscode.window as unknown as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  for (const [method, kind] of [['showErrorMessage', 'error'], ['showWarningMessage', 'warning'], ['showInformationMessage', 'information']] as const) {
    originals.set(method, window[method]);
    window[method] = (text: string) => {
      shown.push({ kind, text });
      return Promise.resolve(undefined);
    };
  }
  return { shown, restore: () => originals.forEach((original, method) => (window[method] = original)) };
}

/** Records every command the extension executes (and runs it), e.g. `setContext` and `revealInExplorer`. */
export function recordCommands(): { calls: unknown[][]; restore(): void } {
  const calls: unknown[][] = [];
  const commands = vscode.commands as unknown as { executeCommand: (...args: unknown[]) => Thenable<unknown> };
  const original = commands.executeCommand;
  commands.executeCommand = (...args: unknown[]) => {
    calls.push(args);
    return original.apply(vscode.commands, args);
  };
  return { calls, restore: () => (commands.executeCommand = original) };
}
