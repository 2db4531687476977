/** The one handle on VS Code's webview API (acquireVsCodeApi may be called only once per page). */
import type { WebviewToHost } from '../src/shared/webview-protocol.js';

interface VsCodeWebviewApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState<T>(state: T): T;
}

declare global {
  function acquireVsCodeApi(): VsCodeWebviewApi;
}

export interface HostChannel {
  post(message: WebviewToHost): void;
  /** The state saved by `saveState` before the webview was last hidden or reloaded, unvalidated. */
  loadState(): unknown;
  saveState(state: unknown): void;
}

export function connectToHost(): HostChannel {
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    loadState: () => api.getState(),
    saveState: (state) => void api.setState(state),
  };
}
