/**
 * The read-only custom editor for .safetensors files (modelled on microsoft/vscode-hexeditor): the host reads
 * only the header and asks the worker for anything that reads tensor data; the webview draws what it is sent.
 * Each open editor is an EditorSession; this provider keeps the live ones and answers tests about them.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { Log } from '../log';
import { setUpWebview } from '../webview-page';
import { EditorSession, EditorState } from './editor-session';

export type { EditorState } from './editor-session';

class SafetensorsDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

/**
 * What tests (and other extensions) can ask of the open editors. Bounded: each editor keeps a fixed-size
 * snapshot, and everything an editor registered is released when it closes.
 */
export interface EditorProbe {
  /** The state of the editor open on `file` (the latest one, when several are). */
  stateOf(file: string): EditorState | undefined;
  /** Hands the editor open on `file` a message as if its webview had posted it (the webview is out of a test's reach). */
  receiveFromWebview(file: string, message: unknown): Promise<void>;
  /** Listeners and resources the open editors hold, not yet disposed: 0 when none is open. */
  liveSubscriptions(): number;
}

export class SafetensorsEditorProvider implements vscode.CustomReadonlyEditorProvider<SafetensorsDocument>, EditorProbe, vscode.Disposable {
  /** Every editor not yet released: the open ones, and any closed one whose listeners are still live (a leak liveSubscriptions shows). */
  private readonly sessions = new Set<EditorSession>();
  /** The latest editor on each file, by resolved path. */
  private readonly latest = new Map<string, EditorSession>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: Log,
  ) {}

  stateOf(file: string): EditorState | undefined {
    return this.latest.get(path.resolve(file))?.state();
  }

  receiveFromWebview(file: string, message: unknown): Promise<void> {
    const session = this.latest.get(path.resolve(file));
    if (!session) throw new Error(`no ZipLoRA editor is open on ${file}`);
    return session.receive(message);
  }

  liveSubscriptions(): number {
    let count = 0;
    for (const session of this.sessions) count += session.liveSubscriptions;
    return count;
  }

  openCustomDocument(uri: vscode.Uri): SafetensorsDocument {
    return new SafetensorsDocument(uri);
  }

  resolveCustomEditor(document: SafetensorsDocument, panel: vscode.WebviewPanel): void {
    const file = document.uri.fsPath;
    setUpWebview(panel.webview, this.context.extensionUri, path.basename(file));
    const session = new EditorSession(file, panel.webview, this.log);
    const key = path.resolve(file);
    this.sessions.add(session);
    this.latest.set(key, session);
    session.own(panel.onDidDispose(() => this.close(key, session)));
  }

  dispose(): void {
    for (const session of this.sessions) session.dispose();
    this.sessions.clear();
    this.latest.clear();
  }

  private close(key: string, session: EditorSession): void {
    session.dispose();
    // Kept (and counted by liveSubscriptions) while anything it registered is still live.
    if (session.liveSubscriptions === 0) this.sessions.delete(session);
    if (this.latest.get(key) === session) this.latest.delete(key);
  }
}
