/**
 * One open safetensors editor: it answers its webview's messages, runs the worker jobs they ask for (cancelled
 * when the editor closes), and owns every listener it registers, so that closing the editor leaves nothing behind.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { SafetensorsError } from '../../core/safetensors/errors';
import { buildFileView, readLayerCoefficients } from '../../core/view/file-view';
import { FileView, HostToWebview, isFromWebview, WebviewToHost } from '../../shared/webview-protocol';
import { runWorkerTask } from '../../worker/client';
import { DisposableSet } from '../disposables';
import { Log } from '../log';
import { RecentItems } from '../recent-items';

/** How many of the messages sent to its webview an editor keeps for tests: a load sends four, a request one. */
export const RECENT_MESSAGE_COUNT = 16;

/** What a test can ask of an open editor (`ziplora.editorState`): a fixed-size snapshot, however long it is open. */
export interface EditorState {
  readonly file: string;
  /** The last RECENT_MESSAGE_COUNT messages its webview was sent, oldest first (an answer is the last after its request). */
  readonly recent: readonly HostToWebview[];
  readonly view?: FileView;
  readonly error?: string;
  readonly loraLayers?: number;
}

export class EditorSession implements vscode.Disposable {
  private readonly subscriptions = new DisposableSet();
  /** Jobs in the worker stop when the editor closes. */
  private readonly jobs = new AbortController();
  private readonly recent = new RecentItems<HostToWebview>(RECENT_MESSAGE_COUNT);
  private view: FileView | undefined;
  private error: string | undefined;
  private loraLayers: number | undefined;

  constructor(
    readonly file: string,
    private readonly webview: vscode.Webview,
    private readonly log: Log,
  ) {
    this.own({ dispose: () => this.jobs.abort() });
    this.own(webview.onDidReceiveMessage((message: unknown) => void this.receive(message)));
  }

  /** Registers a listener or resource for disposal with the editor. */
  own<T extends vscode.Disposable>(item: T): T {
    return this.subscriptions.add(item);
  }

  /** Listeners and resources the editor holds that are not disposed yet. */
  get liveSubscriptions(): number {
    return this.subscriptions.size;
  }

  state(): EditorState {
    return { file: this.file, recent: this.recent.toArray(), view: this.view, error: this.error, loraLayers: this.loraLayers };
  }

  /** A message from the webview, which is untrusted input: anything not a known, well-formed message is dropped. */
  async receive(message: unknown): Promise<void> {
    if (isFromWebview(message)) await this.handle(message);
    else this.log.line(`warning: ignored a malformed message from the editor of ${path.basename(this.file)}`);
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private async handle(message: WebviewToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        return this.load();
      case 'requestTensorStats':
        return this.answerTensorStats(message.name);
      case 'requestLayerCoefficients':
        return this.answerLayerCoefficients(message.module);
      case 'revealFile': {
        const target = message.which === 'merged' ? this.view?.ziplora?.mergedFile : this.view?.ziplora?.sidecar;
        if (target) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(target));
        return;
      }
    }
  }

  private post(message: HostToWebview): void {
    this.recent.push(message);
    void this.webview.postMessage(message);
  }

  private async load(): Promise<void> {
    try {
      this.view = await buildFileView(this.file);
      this.post({ type: 'file', view: this.view });
      if (!this.view.lora) return;
      this.post({ type: 'busy', what: 'Computing per-layer measures…' });
      const layers = await runWorkerTask({ kind: 'loraLayers', file: this.file }, this.jobs.signal);
      this.loraLayers = layers.length;
      this.post({ type: 'loraLayers', layers });
      this.post({ type: 'busy', what: null });
    } catch (error) {
      if (!this.jobs.signal.aborted) this.showLoadError(error);
    }
  }

  /** Before the file view was sent, the error replaces it; after, it only ends the busy state (and is logged). */
  private showLoadError(error: unknown): void {
    const problem = error instanceof SafetensorsError ? { message: error.problem, hint: error.hint } : { message: error instanceof Error ? error.message : String(error) };
    this.log.line(`error: ${this.file}: ${problem.message}`);
    this.error = problem.message;
    this.post(this.view ? { type: 'busy', what: null } : { type: 'fileError', file: this.file, ...problem });
  }

  private async answerTensorStats(name: string): Promise<void> {
    try {
      this.post({ type: 'tensorStats', name, stats: await runWorkerTask({ kind: 'tensorStats', file: this.file, tensor: name }, this.jobs.signal) });
    } catch (error) {
      if (!this.jobs.signal.aborted) this.post({ type: 'tensorStats', name, stats: null, error: (error as Error).message });
    }
  }

  private async answerLayerCoefficients(module: string): Promise<void> {
    const sidecar = this.view?.ziplora?.sidecar;
    if (!sidecar) return;
    try {
      this.post({ type: 'layerCoefficients', module, ...(await readLayerCoefficients(sidecar, module)) });
    } catch (error) {
      this.post({ type: 'layerCoefficients', module, inputs: [], m: [], error: (error as Error).message });
    }
  }
}
