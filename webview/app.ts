/**
 * The page: a header (file name, what it is, busy indicator) over either the tabs or an error panel. Every
 * change comes from a host message; what the user picks (tab, page scroll) goes into the saved state.
 */
import type { ComparisonView, FileView, HostToWebview, LoraSummary } from '../src/shared/webview-protocol.js';
import { el } from './dom.js';
import { baseName } from './format.js';
import type { TabId } from './state.js';
import { renderComparison } from './views/comparison-view.js';
import { renderFileError } from './views/error-panel.js';
import { LoraView } from './views/lora-view.js';
import { renderMetadata } from './views/metadata-view.js';
import { renderOverview } from './views/overview-view.js';
import { TensorsView } from './views/tensors-view.js';
import type { ViewContext } from './views/view-context.js';
import { ZipLoraReportView } from './views/ziplora-view.js';

interface Tab {
  readonly id: TabId;
  readonly label: string;
  readonly count?: number;
  readonly content: HTMLElement;
}

export class App {
  private readonly title: HTMLElement;
  private readonly kind: HTMLElement;
  private readonly busy: HTMLElement;
  private readonly busyText: HTMLElement;
  private readonly main: HTMLElement;
  private tabIds: TabId[] = [];
  private tensors: TensorsView | null = null;
  private lora: LoraView | null = null;
  private ziplora: ZipLoraReportView | null = null;
  /** Per-layer measures that came before the file they belong to. */
  private earlyLoraLayers: LoraSummary['layers'] | null = null;

  constructor(root: HTMLElement, private readonly context: ViewContext) {
    this.title = el('h1', { className: 'file-title', text: 'safetensors' });
    this.kind = el('vscode-badge', { className: 'file-kind' });
    this.kind.hidden = true;
    this.busyText = el('span');
    this.busy = el('div', { className: 'busy', attrs: { role: 'status', 'aria-live': 'polite' } }, el('vscode-progress-ring', { attrs: { 'aria-hidden': 'true' } }), this.busyText);
    this.busy.hidden = true;
    this.main = el('main', { className: 'app-main' });
    root.replaceChildren(el('header', { className: 'app-header' }, this.title, this.kind, this.busy), this.main);
    window.addEventListener('scroll', () => this.rememberPageScroll(), { passive: true });
  }

  handle(message: HostToWebview): void {
    switch (message.type) {
      case 'file':
        this.showFile(message.view);
        break;
      case 'comparison':
        this.showComparison(message.comparison);
        break;
      case 'fileError':
        this.showError(message.file, message.message, message.hint);
        break;
      case 'loraLayers':
        if (this.lora) this.lora.setLayers(message.layers);
        else this.earlyLoraLayers = message.layers;
        break;
      case 'tensorStats':
        this.tensors?.showStats(message.name, message.stats, message.error);
        break;
      case 'layerCoefficients':
        this.ziplora?.showCoefficients(message.module, message.inputs, message.m, message.error);
        break;
      case 'busy':
        this.busy.hidden = message.what === null;
        this.busyText.textContent = message.what ?? '';
        break;
    }
  }

  private showFile(view: FileView): void {
    const { context } = this;
    this.title.textContent = baseName(view.summary.file);
    this.title.title = view.summary.file;
    this.kind.textContent = view.kind;
    this.kind.hidden = false;
    this.tensors = new TensorsView(view, context);
    this.lora = view.lora ? new LoraView(view.lora, context) : null;
    this.ziplora = view.ziplora ? new ZipLoraReportView(view.ziplora, context) : null;
    const tabs: Tab[] = [
      { id: 'overview', label: 'Overview', content: renderOverview(view) },
      { id: 'metadata', label: 'Metadata', count: Object.keys(view.summary.metadata).length, content: renderMetadata(view, context) },
      { id: 'tensors', label: 'Tensors', count: view.summary.tensors.length, content: this.tensors.element },
      ...(this.lora ? [{ id: 'lora' as const, label: 'LoRA', content: this.lora.element }] : []),
      ...(this.ziplora ? [{ id: 'ziplora' as const, label: 'ZipLoRA', count: view.ziplora!.layers.length, content: this.ziplora.element }] : []),
    ];
    this.renderTabs(tabs);
    if (this.lora && this.earlyLoraLayers) this.lora.setLayers(this.earlyLoraLayers);
    this.earlyLoraLayers = null;
  }

  private showComparison(comparison: ComparisonView): void {
    this.tensors = this.lora = this.ziplora = null;
    this.title.textContent = comparison.files.map((f) => baseName(f.file)).join(' ↔ ');
    this.title.title = comparison.files.map((f) => f.file).join('\n');
    this.kind.textContent = 'LoRA comparison';
    this.kind.hidden = false;
    this.renderTabs([{ id: 'compare', label: 'Comparison', count: comparison.files.length === 2 ? comparison.pairs[0].paired : comparison.pairs.length, content: renderComparison(comparison) }]);
  }

  private renderTabs(tabs: readonly Tab[]): void {
    this.tabIds = tabs.map((t) => t.id);
    const saved = this.context.state.value.tab;
    const selectedIndex = Math.max(0, this.tabIds.indexOf(saved));
    const element = el('vscode-tabs', { className: 'tabs' });
    for (const tab of tabs) {
      element.append(
        el('vscode-tab-header', { attrs: { slot: 'header', 'data-tab': tab.id } }, tab.label, tab.count !== undefined ? el('vscode-badge', { attrs: { variant: 'counter', slot: 'content-after' }, text: String(tab.count) }) : null),
        el('vscode-tab-panel', { attrs: { 'data-tab': tab.id } }, tab.content),
      );
    }
    element.selectedIndex = selectedIndex;
    element.addEventListener('vsc-tabs-select', (event) => {
      const tab = this.tabIds[event.detail.selectedIndex];
      if (!tab || tab === this.context.state.value.tab) return;
      this.context.state.update({ tab });
      this.restorePageScroll(tab);
    });
    this.main.replaceChildren(element);
    this.restorePageScroll(this.tabIds[selectedIndex]);
  }

  private showError(file: string, message: string, hint: string | undefined): void {
    this.tensors = this.lora = this.ziplora = null;
    this.title.textContent = baseName(file);
    this.title.title = file;
    this.kind.hidden = true;
    this.main.replaceChildren(renderFileError(file, message, hint));
  }

  private rememberPageScroll(): void {
    const tab = this.context.state.value.tab;
    if (!this.tabIds.includes(tab)) return;
    this.context.state.updateLater({ pageScroll: { ...this.context.state.value.pageScroll, [tab]: window.scrollY } });
  }

  private restorePageScroll(tab: TabId): void {
    const top = this.context.state.value.pageScroll[tab] ?? 0;
    // After layout, so the page is tall enough to scroll there.
    requestAnimationFrame(() => requestAnimationFrame(() => window.scrollTo({ top })));
  }
}
