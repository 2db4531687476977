/** The one handle on the page's host: VS Code's webview API (acquireVsCodeApi may be called only once per page), or a standalone report's data. */
import type { WebviewToHost } from '../src/shared/webview-protocol.js';
import { inlinedReportData, reportChannel } from './report-channel.js';

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
  const report = inlinedReportData();
  if (report) return reportChannel(report);
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    loadState: () => api.getState(),
    saveState: (state) => void api.setState(state),
  };
}
