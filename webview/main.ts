/**
 * The safetensors editor's webview: connects to the host, tells it it is ready, and renders what it sends.
 * Bundled by esbuild (esbuild.js) into dist/webview.js and dist/webview.css.
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import './styles.css';
import './report-theme.css';
import type { HostToWebview } from '../src/shared/webview-protocol.js';
import { App } from './app.js';
import { StateStore } from './state.js';
import { connectToHost } from './vscode-api.js';

const HOST_MESSAGE_TYPES: ReadonlySet<string> = new Set<HostToWebview['type']>(['file', 'comparison', 'fileError', 'loraLayers', 'tensorStats', 'layerCoefficients', 'busy']);

function isHostMessage(data: unknown): data is HostToWebview {
  return typeof data === 'object' && data !== null && HOST_MESSAGE_TYPES.has(String((data as { type?: unknown }).type));
}

const channel = connectToHost();
const state = new StateStore(channel);
const app = new App(document.getElementById('app') ?? document.body, { post: channel.post, state });

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostMessage(event.data)) app.handle(event.data);
});
// Batched scroll positions are written before the page is hidden or torn down.
window.addEventListener('pagehide', () => state.flush());
document.addEventListener('visibilitychange', () => state.flush());

channel.post({ type: 'ready' });
