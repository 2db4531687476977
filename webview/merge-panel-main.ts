/**
 * The merge panel's webview (src/extension/merge-panel.ts): connects to the host, tells it it is ready, and renders
 * what it sends. Bundled by esbuild (esbuild.js) into dist/merge-panel.js and dist/merge-panel.css, apart from the
 * editor's bundle: the panel needs its forms, not the charts.
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import './styles.css';
import './merge-panel.css';
import type { MergePanelToHost, MergePanelToWebview } from '../src/shared/merge-panel-protocol.js';
import { MergePanelView } from './views/merge-panel-view.js';

const HOST_MESSAGE_TYPES: ReadonlySet<string> = new Set<MergePanelToWebview['type']>(['panelState', 'overlap', 'running', 'outcome']);

function isHostMessage(data: unknown): data is MergePanelToWebview {
  return typeof data === 'object' && data !== null && HOST_MESSAGE_TYPES.has(String((data as { type?: unknown }).type));
}

// The panel keeps no state of its own between reloads: the host holds the settings and sends them on `ready`.
const api = acquireVsCodeApi();
const post = (message: MergePanelToHost) => api.postMessage(message);
const view = new MergePanelView(document.getElementById('app') ?? document.body, post);

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostMessage(event.data)) view.handle(event.data);
});

post({ type: 'ready' });
