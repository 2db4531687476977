/**
 * The merge panel: a webview (webview/merge-panel-main.ts) that edits a merge of 2 to 8 LoRAs and asks this host
 * to add inputs, pick the output, save the recipe and run the merge. The host keeps the panel's settings (the page
 * sends them on every edit, so a reloaded page gets them back), computes the inputs' overlap per block in the
 * worker, writes the recipe (recipe.ts) and runs the merge through the MergeRunner (its progress notification
 * and Cancel). One panel at a time: opening it again with other files shows the same panel with those files.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { writeTextAtomically } from '../core/atomic-write';
import { RECIPE_SUFFIX, recipeText, requestToRecipe } from '../core/merge/recipe';
import { isSidecar, MergeSummary } from '../core/merge/request';
import { isFromMergePanel, MergePanelSettings, MergePanelToWebview, OverlapState, withInputsAdded } from '../shared/merge-panel-protocol';
import { DisposableSet } from './disposables';
import { Log } from './log';
import { readMergeSettings } from './merge-arguments';
import { initialPanelSettings, PANEL_LIMITS, panelProblems, panelRequest } from './merge-panel-request';
import { computePanelOverlap } from './merge-panel-overlap';
import { MergeRunner } from './merge-runner';
import { setUpWebview } from './webview-page';

/** What the extension tests can see of the panel and hand it (its webview is out of their reach). */
export interface MergePanelProbe {
  /** The open panel's settings, overlap and latest messages to its page; undefined when no panel is open. */
  state(): MergePanelState | undefined;
  /** Hands the open panel a message as if its page had posted it; resolves when the panel has handled it. */
  receiveFromWebview(message: unknown): Promise<void>;
}

export interface MergePanelState {
  readonly settings: MergePanelSettings;
  readonly overlap: OverlapState | undefined;
  /** The latest messages to the page, oldest first (at most RECENT_LIMIT). */
  readonly recent: readonly MergePanelToWebview[];
}

const RECENT_LIMIT = 50;

const settingsNow = () => readMergeSettings((key) => vscode.workspace.getConfiguration('ziplora').get(key));

export class MergePanels implements MergePanelProbe, vscode.Disposable {
  private open: MergePanel | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly runner: MergeRunner,
    private readonly log: Log,
  ) {}

  /** Shows the panel with `files` as its inputs (the open panel's inputs are replaced when `files` are given). */
  show(files: readonly string[]): void {
    if (this.open) {
      if (files.length) this.open.replaceInputs(files);
      this.open.reveal();
      return;
    }
    this.open = new MergePanel(this.extensionUri, files, this.runner, this.log, () => (this.open = undefined));
  }

  state(): MergePanelState | undefined {
    return this.open?.state();
  }

  receiveFromWebview(message: unknown): Promise<void> {
    if (!this.open) throw new Error('no ZipLoRA merge panel is open');
    return this.open.receive(message);
  }

  dispose(): void {
    this.open?.dispose();
  }
}

class MergePanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private readonly listeners = new DisposableSet();
  private settings: MergePanelSettings;
  private overlap: OverlapState | undefined;
  /** The inputs `overlap` is (being) computed for, and how to stop that computation. */
  private overlapInputs: readonly string[] = [];
  private overlapAbort: AbortController | undefined;
  private readonly recent: MergePanelToWebview[] = [];
  /** Closed by the user: a merge it started runs on (its notification has Cancel), but nothing is posted to the page. */
  private closed = false;

  constructor(
    extensionUri: vscode.Uri,
    files: readonly string[],
    private readonly runner: MergeRunner,
    private readonly log: Log,
    onClosed: () => void,
  ) {
    this.settings = initialPanelSettings(files, settingsNow(), existsSync);
    // The page's edits are mirrored here (`changed`), so it need not be kept alive while hidden.
    this.panel = vscode.window.createWebviewPanel('ziplora.mergePanel', this.title(), vscode.ViewColumn.Active, { enableScripts: true });
    setUpWebview(this.panel.webview, extensionUri, 'ZipLoRA merge', 'merge-panel');
    this.listeners.add(this.panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)));
    this.listeners.add(
      this.panel.onDidDispose(() => {
        this.closed = true;
        this.overlapAbort?.abort();
        this.listeners.dispose();
        onClosed();
      }),
    );
    this.refreshOverlap();
  }

  state(): MergePanelState {
    return { settings: this.settings, overlap: this.overlap, recent: [...this.recent] };
  }

  reveal(): void {
    this.panel.reveal();
  }

  replaceInputs(files: readonly string[]): void {
    this.settings = initialPanelSettings(files, settingsNow(), existsSync);
    this.sendState();
    this.refreshOverlap();
  }

  async receive(message: unknown): Promise<void> {
    if (!isFromMergePanel(message)) return;
    switch (message.type) {
      case 'ready':
        this.sendState();
        this.post({ type: 'running', running: this.runner.isRunning });
        if (this.overlap) this.post({ type: 'overlap', inputs: this.overlapInputs, overlap: this.overlap });
        return;
      case 'changed':
        this.update(message.settings);
        return;
      case 'addInputs':
        return this.addInputs();
      case 'browseOutput':
        return this.browseOutput();
      case 'saveRecipe':
        this.update(message.settings);
        return this.saveRecipe();
      case 'merge':
        this.update(message.settings);
        await this.merge();
        return;
      case 'cancelMerge':
        this.runner.cancel();
        return;
    }
  }

  private update(settings: MergePanelSettings): void {
    this.settings = settings;
    if (!this.closed) this.panel.title = this.title();
    this.refreshOverlap();
  }

  private title(): string {
    const n = this.settings.inputs.length;
    return `Merge ${n} LoRA${n === 1 ? '' : 's'}`;
  }

  private post(message: MergePanelToWebview): void {
    this.recent.push(message);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
    if (!this.closed) void this.panel.webview.postMessage(message);
  }

  private sendState(): void {
    if (!this.closed) this.panel.title = this.title();
    this.post({ type: 'panelState', settings: this.settings, limits: PANEL_LIMITS });
  }

  private outcome(kind: 'info' | 'error', lines: readonly string[]): void {
    this.post({ type: 'outcome', kind, lines });
  }

  /** Recomputes the overlap when the inputs changed (weights do not change it), stopping a computation under way. */
  private refreshOverlap(): void {
    if (this.closed) return;
    const files = this.settings.inputs.map((i) => i.path);
    if (files.length === this.overlapInputs.length && files.every((f, i) => f === this.overlapInputs[i])) return;
    this.overlapAbort?.abort();
    this.overlapInputs = files;
    if (files.length < 2) {
      this.overlap = undefined;
      return;
    }
    const abort = (this.overlapAbort = new AbortController());
    const show = (overlap: OverlapState) => {
      if (abort.signal.aborted) return;
      this.overlap = overlap;
      this.post({ type: 'overlap', inputs: files, overlap });
    };
    show({ status: 'computing' });
    computePanelOverlap(files, abort.signal).then(
      (overlap) => show({ status: 'done', overlap }),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (!abort.signal.aborted) this.log.line(`merge panel: overlap: ${message}`);
        show({ status: 'error', message });
      },
    );
  }

  private async addInputs(): Promise<void> {
    const room = PANEL_LIMITS.maxInputs - this.settings.inputs.length;
    if (room <= 0) return this.outcome('error', [`A merge takes at most ${PANEL_LIMITS.maxInputs} LoRAs: remove one to add another.`]);
    const first = this.settings.inputs[0]?.path;
    const chosen = await vscode.window.showOpenDialog({
      title: 'ZipLoRA: add LoRAs to the merge',
      canSelectMany: true,
      filters: { LoRA: ['safetensors'] },
      ...(first ? { defaultUri: vscode.Uri.file(path.dirname(first)) } : {}),
    });
    if (!chosen?.length) return;
    const files = chosen.map((u) => u.fsPath);
    const loras = files.filter((f) => !isSidecar(f));
    this.settings = withInputsAdded(this.settings, loras, PANEL_LIMITS.maxInputs);
    if (!this.settings.output && this.settings.inputs.length) this.settings = { ...this.settings, output: initialPanelSettings(this.settings.inputs.map((i) => i.path), settingsNow(), existsSync).output };
    this.sendState();
    this.refreshOverlap();
    const notes = [
      ...(loras.length < files.length ? ['A merge sidecar (.ziplora.safetensors) is not a LoRA: left out.'] : []),
      ...(loras.length > room ? [`Only ${room} more fit (at most ${PANEL_LIMITS.maxInputs} LoRAs).`] : []),
    ];
    if (notes.length) this.outcome('error', notes);
  }

  private async browseOutput(): Promise<void> {
    const target = await vscode.window.showSaveDialog({
      title: 'ZipLoRA: save the merged LoRA as',
      filters: { LoRA: ['safetensors'] },
      ...(this.settings.output ? { defaultUri: vscode.Uri.file(this.settings.output) } : {}),
    });
    if (!target) return;
    this.settings = { ...this.settings, output: target.fsPath };
    this.sendState();
  }

  /** The problems keeping the settings from a valid merge, shown in the panel; true when there are none. */
  private check(): boolean {
    const problems = panelProblems(this.settings, settingsNow());
    if (problems.length) this.outcome('error', problems.map((p) => p.charAt(0).toUpperCase() + p.slice(1) + (/[.:]$/.test(p) ? '' : '.')));
    return problems.length === 0;
  }

  private async saveRecipe(): Promise<void> {
    if (!this.check()) return;
    const output = this.settings.output;
    const target = await vscode.window.showSaveDialog({
      title: 'ZipLoRA: save the merge recipe as',
      defaultUri: vscode.Uri.file(output.replace(/(\.safetensors)?$/i, RECIPE_SUFFIX)),
      filters: { 'ZipLoRA recipe': ['json'] },
    });
    if (!target) return;
    // The schema and the CodeLens apply to NAME.ziplora.json: keep that ending whatever was typed.
    const file = target.fsPath.endsWith(RECIPE_SUFFIX) ? target.fsPath : target.fsPath.replace(/(\.json)?$/i, RECIPE_SUFFIX);
    const recipe = requestToRecipe(panelRequest(this.settings, settingsNow(), false), path.dirname(file));
    try {
      await writeTextAtomically(file, recipeText(recipe));
    } catch (error) {
      return this.outcome('error', [`Cannot write the recipe ${file}: ${error instanceof Error ? error.message : String(error)}`]);
    }
    this.log.line(`merge panel: saved recipe ${file}`);
    this.outcome('info', [`Saved the recipe ${path.basename(file)} in ${path.dirname(file)}.`]);
  }

  private async merge(): Promise<MergeSummary | undefined> {
    if (this.runner.isRunning) {
      this.outcome('error', ['A ZipLoRA merge is already running: cancel it first, or wait for it to finish.']);
      return undefined;
    }
    if (!vscode.workspace.isTrusted) {
      this.outcome('error', ['Merging writes files and runs a worker process, so it needs a trusted workspace.']);
      return undefined;
    }
    if (!this.check()) return undefined;
    const output = this.settings.output;
    let overwrite = false;
    if (existsSync(output)) {
      const choice = await vscode.window.showWarningMessage(`${path.basename(output)} exists. Replace it (and its sidecar)?`, { modal: true }, 'Replace');
      if (choice !== 'Replace') return undefined;
      overwrite = true;
    }
    this.post({ type: 'running', running: true });
    this.outcome('info', [`Merging ${this.settings.inputs.length} LoRAs into ${path.basename(output)}…`]);
    try {
      const summary = await this.runner.run(panelRequest(this.settings, settingsNow(), overwrite));
      if (summary) this.outcome('info', [`Merged ${summary.layers.merged} layers into ${path.basename(summary.output)} in ${summary.seconds.toFixed(1)} s.`]);
      else this.outcome('error', ['The merge did not finish (cancelled or failed): the notification and the ZipLoRA log say why.']);
      return summary;
    } finally {
      this.post({ type: 'running', running: false });
    }
  }

  dispose(): void {
    this.panel.dispose();
  }
}
