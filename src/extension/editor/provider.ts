/**
 * The read-only custom editor for .safetensors files (modelled on microsoft/vscode-hexeditor): the host reads
 * only the header and asks the worker for anything that reads tensor data; the webview draws what it is sent.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as vscode from 'vscode';
import { SafetensorsError } from '../../core/safetensors/errors';
import { FileView, HostToWebview, isFromWebview, WebviewToHost } from '../../shared/webview-protocol';
import { runWorkerTask } from '../../worker/client';
import { renderWebviewHtml } from '../../shared/webview-html';
import { Log } from '../log';
import { buildFileView, readLayerCoefficients } from '../../core/view/file-view';

class SafetensorsDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

/** What a test can ask of an open editor: the messages its webview was sent (`ziplora.editorState`). */
export interface EditorState {
  readonly file: string;
  readonly sent: readonly HostToWebview['type'][];
  readonly view?: FileView;
  readonly error?: string;
  readonly loraLayers?: number;
}

export class SafetensorsEditorProvider implements vscode.CustomReadonlyEditorProvider<SafetensorsDocument> {
  static readonly viewType = 'ziplora.safetensorsEditor';
  private readonly states = new Map<string, EditorState>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: Log,
  ) {}

  /** The state of the editors open on `file` (for tests and other extensions). */
  stateOf(file: string): EditorState | undefined {
    return this.states.get(path.resolve(file));
  }

  openCustomDocument(uri: vscode.Uri): SafetensorsDocument {
    return new SafetensorsDocument(uri);
  }

  async resolveCustomEditor(document: SafetensorsDocument, panel: vscode.WebviewPanel): Promise<void> {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: [dist] };
    webview.html = renderWebviewHtml({
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      title: path.basename(document.uri.fsPath),
    });
    const file = document.uri.fsPath;
    const key = path.resolve(file);
    const sent: HostToWebview['type'][] = [];
    this.states.set(key, { file, sent });
    const update = (patch: Partial<EditorState>) => this.states.set(key, { ...this.states.get(key)!, ...patch });
    const post = (message: HostToWebview) => {
      sent.push(message.type);
      void webview.postMessage(message);
    };
    // Jobs in the worker stop when the editor closes.
    const jobs = new AbortController();
    panel.onDidDispose(() => {
      jobs.abort();
      this.states.delete(key);
    });
    let view: FileView | undefined;

    const load = async () => {
      try {
        view = await buildFileView(file);
        update({ view });
        post({ type: 'file', view });
        if (view.lora) {
          post({ type: 'busy', what: 'Computing per-layer measures…' });
          const layers = await runWorkerTask({ kind: 'loraLayers', file }, jobs.signal);
          update({ loraLayers: layers.length });
          post({ type: 'loraLayers', layers });
          post({ type: 'busy', what: null });
        }
      } catch (error) {
        if (jobs.signal.aborted) return;
        const problem = error instanceof SafetensorsError ? { message: error.problem, hint: error.hint } : { message: error instanceof Error ? error.message : String(error) };
        this.log.line(`error: ${file}: ${problem.message}`);
        update({ error: problem.message });
        post({ type: view ? 'busy' : 'fileError', ...(view ? { what: null } : { file, ...problem }) } as HostToWebview);
      }
    };

    const handle = async (message: WebviewToHost) => {
      switch (message.type) {
        case 'ready':
          return load();
        case 'requestTensorStats':
          try {
            post({ type: 'tensorStats', name: message.name, stats: await runWorkerTask({ kind: 'tensorStats', file, tensor: message.name }, jobs.signal) });
          } catch (error) {
            if (!jobs.signal.aborted) post({ type: 'tensorStats', name: message.name, stats: null, error: (error as Error).message });
          }
          return;
        case 'requestLayerCoefficients': {
          const sidecar = view?.ziplora?.sidecar;
          if (!sidecar) return;
          try {
            post({ type: 'layerCoefficients', module: message.module, ...(await readLayerCoefficients(sidecar, message.module)) });
          } catch (error) {
            post({ type: 'layerCoefficients', module: message.module, mContent: [], mStyle: [], error: (error as Error).message });
          }
          return;
        }
        case 'revealFile': {
          const target = message.which === 'merged' ? view?.ziplora?.mergedFile : view?.ziplora?.sidecar;
          if (target) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(target));
          return;
        }
      }
    };
    webview.onDidReceiveMessage((message: unknown) => {
      // The webview is untrusted input: anything that is not a known, well-formed message is dropped.
      if (isFromWebview(message)) void handle(message);
      else this.log.line(`warning: ignored a malformed message from the editor of ${path.basename(file)}`);
    });
  }
}
