/** What every view gets: the channel to the host and the saved UI state. */
import type { WebviewToHost } from '../../src/shared/webview-protocol.js';
import type { StateStore } from '../state.js';

export interface ViewContext {
  readonly post: (message: WebviewToHost) => void;
  readonly state: StateStore;
}
