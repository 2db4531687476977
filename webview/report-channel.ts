/**
 * The host of a standalone report (`ziplora report`): no VS Code is there, so the page answers the webview's
 * requests from the data inlined in it (src/shared/html-report.ts), as the extension host would.
 */
import { REPORT_DATA_ELEMENT_ID, type HostToWebview, type ReportData, type WebviewToHost } from '../src/shared/webview-protocol.js';
import type { HostChannel } from './vscode-api.js';

/** The report's data, when this page is a standalone report. */
export function inlinedReportData(): ReportData | undefined {
  const element = document.getElementById(REPORT_DATA_ELEMENT_ID);
  return element?.textContent ? (JSON.parse(element.textContent) as ReportData) : undefined;
}

function decodeFloats(base64: string): number[] {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return Array.from(new Float32Array(bytes.buffer));
}

/** What the extension host would answer to `message`, from the report's data; nothing for a reveal request. */
export function answerFromReport(data: ReportData, message: WebviewToHost): HostToWebview | undefined {
  switch (message.type) {
    case 'ready':
      return { type: 'file', view: data.view };
    case 'requestLayerCoefficients': {
      const found = data.coefficients[message.module];
      return found
        ? { type: 'layerCoefficients', module: message.module, inputs: found.inputs, m: found.m.map(decodeFloats) }
        : { type: 'layerCoefficients', module: message.module, inputs: [], m: [], error: 'not in this report' };
    }
    case 'requestTensorStats':
      return { type: 'tensorStats', name: message.name, stats: null, error: 'Tensor statistics are not part of a standalone report; open the file in VS Code.' };
    case 'revealFile':
      return undefined;
  }
}

/** A HostChannel whose answers arrive as window messages, after the current task, as a host's would. */
export function reportChannel(data: ReportData): HostChannel {
  let state: unknown;
  return {
    post: (message) => {
      const answer = answerFromReport(data, message);
      if (answer) setTimeout(() => window.dispatchEvent(new MessageEvent('message', { data: answer })), 0);
    },
    loadState: () => state,
    saveState: (value) => void (state = value),
  };
}
