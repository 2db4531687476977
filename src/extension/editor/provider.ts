/**
 * The read-only custom editor for .safetensors files (modelled on microsoft/vscode-hexeditor): the host reads
 * only the header and asks the worker for anything that reads tensor data; the webview draws what it is sent.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { SafetensorsError } from '../../core/safetensors/errors';
import { FileView, HostToWebview, isFromWebview, WebviewToHost } from '../../shared/webview-protocol';
import { runWorkerTask } from '../../worker/client';
import { Log } from '../log';
import { setUpWebview } from '../webview-page';
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
  /** The answers to the webview's requests (tensor statistics, layer coefficients), in order. */
  readonly answers: readonly HostToWebview[];
}

export class SafetensorsEditorProvider implements vscode.CustomReadonlyEditorProvider<SafetensorsDocument> {
  static readonly viewType = 'ziplora.safetensorsEditor';
  private readonly states = new Map<string, EditorState>();
  /** Each open editor's handler of webview messages, so a test can send one as the webview would. */
  private readonly receivers = new Map<string, (message: unknown) => Promise<void>>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: Log,
  ) {}

  /** The state of the editors open on `file` (for tests and other extensions). */
  stateOf(file: string): EditorState | undefined {
    return this.states.get(path.resolve(file));
  }

  /** Hands the editor open on `file` a message as if its webview had posted it (tests: the webview is out of reach). */
  receiveFromWebview(file: string, message: unknown): Promise<void> {
    const receive = this.receivers.get(path.resolve(file));
    if (!receive) throw new Error(`no ZipLoRA editor is open on ${file}`);
    return receive(message);
  }

  openCustomDocument(uri: vscode.Uri): SafetensorsDocument {
    return new SafetensorsDocument(uri);
  }

  async resolveCustomEditor(document: SafetensorsDocument, panel: vscode.WebviewPanel): Promise<void> {
    const webview = panel.webview;
    setUpWebview(webview, this.context.extensionUri, path.basename(document.uri.fsPath));
    const file = document.uri.fsPath;
    const key = path.resolve(file);
    const sent: HostToWebview['type'][] = [];
    const answers: HostToWebview[] = [];
    this.states.set(key, { file, sent, answers });
    const update = (patch: Partial<EditorState>) => this.states.set(key, { ...this.states.get(key)!, ...patch });
    const post = (message: HostToWebview) => {
      sent.push(message.type);
      if (message.type === 'tensorStats' || message.type === 'layerCoefficients') answers.push(message);
      void webview.postMessage(message);
    };
    // Jobs in the worker stop when the editor closes.
    const jobs = new AbortController();
    panel.onDidDispose(() => {
      jobs.abort();
      this.states.delete(key);
      this.receivers.delete(key);
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
    const receive = async (message: unknown) => {
      // The webview is untrusted input: anything that is not a known, well-formed message is dropped.
      if (isFromWebview(message)) await handle(message);
      else this.log.line(`warning: ignored a malformed message from the editor of ${path.basename(file)}`);
    };
    this.receivers.set(key, receive);
    webview.onDidReceiveMessage((message: unknown) => void receive(message));
  }
}
