/**
 * A standalone HTML report of a merge (`ziplora report`, `ziplora merge --report`): the editor's webview
 * bundle and the sidecar's data inlined in one file, with a stand-in for the VS Code API that answers the
 * page's requests from that data. It opens in any browser, offline, for sharing.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { withSafetensors } from '../safetensors/reader';
import { buildFileView } from './file-view';

/** dist/webview.js and dist/webview.css: beside the bundle, or in dist/ when run from the sources. */
export function webviewAssets(): { script: string; style: string } {
  const folder = [__dirname, path.resolve(__dirname, '../../../dist')].find((dir) => existsSync(path.join(dir, 'webview.js')));
  if (!folder) throw new Error('the webview bundle (dist/webview.js) was not found; run `npm run build`');
  const style = path.join(folder, 'webview.css');
  return { script: readFileSync(path.join(folder, 'webview.js'), 'utf8'), style: existsSync(style) ? readFileSync(style, 'utf8') : '' };
}

/** Keeps `</script>` and friends inside JSON or code from closing the element that holds them. */
function inlineSafe(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** VS Code's theme variables the page uses, for a browser: light by default, dark when the system is. */
const THEME_DEFAULTS = `
:root { color-scheme: light dark; }
body {
  --vscode-font-family: system-ui, -apple-system, "Segoe UI", sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: ui-monospace, Menlo, Consolas, monospace;
  --vscode-foreground: #3b3b3b; --vscode-descriptionForeground: #717171; --vscode-editor-background: #ffffff; --vscode-editor-foreground: #3b3b3b;
  --vscode-panel-border: #e5e5e5; --vscode-focusBorder: #005fb8; --vscode-textLink-foreground: #005fb8; --vscode-errorForeground: #c72e0f;
  --vscode-list-hoverBackground: #f2f2f2; --vscode-list-activeSelectionBackground: #e8e8e8; --vscode-list-activeSelectionForeground: #000000;
  --vscode-input-background: #ffffff; --vscode-input-foreground: #3b3b3b; --vscode-input-border: #cecece; --vscode-badge-background: #cccccc; --vscode-badge-foreground: #3b3b3b;
  --vscode-button-background: #005fb8; --vscode-button-foreground: #ffffff; --vscode-editorWidget-background: #f8f8f8; --vscode-widget-border: #e5e5e5;
  --vscode-charts-foreground: #3b3b3b; --vscode-charts-lines: #3b3b3b80; --vscode-charts-blue: #1a85ff; --vscode-charts-red: #e51400; --vscode-charts-green: #388a34;
  --vscode-charts-orange: #d18616; --vscode-charts-purple: #652d90; --vscode-charts-yellow: #bf8803;
}
@media (prefers-color-scheme: dark) { body {
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-editor-background: #1f1f1f; --vscode-editor-foreground: #cccccc;
  --vscode-panel-border: #2b2b2b; --vscode-focusBorder: #0078d4; --vscode-textLink-foreground: #4daafc; --vscode-errorForeground: #f85149;
  --vscode-list-hoverBackground: #2a2d2e; --vscode-list-activeSelectionBackground: #04395e; --vscode-list-activeSelectionForeground: #ffffff;
  --vscode-input-background: #313131; --vscode-input-foreground: #cccccc; --vscode-input-border: #3c3c3c; --vscode-badge-background: #616161; --vscode-badge-foreground: #f8f8f8;
  --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff; --vscode-editorWidget-background: #202020; --vscode-widget-border: #313131;
  --vscode-charts-foreground: #cccccc; --vscode-charts-lines: #cccccc80; --vscode-charts-blue: #3794ff; --vscode-charts-red: #f14c4c; --vscode-charts-green: #89d185;
  --vscode-charts-orange: #d18616; --vscode-charts-purple: #b180d7; --vscode-charts-yellow: #cca700;
} }`;

/** Answers the page's messages from the inlined data, as the extension host would. */
const API_STAND_IN = `
(() => {
  const data = JSON.parse(document.getElementById('ziplora-report-data').textContent);
  const decode = (base64) => Array.from(new Float32Array(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer));
  const send = (message) => setTimeout(() => window.dispatchEvent(new MessageEvent('message', { data: message })), 0);
  let state;
  window.acquireVsCodeApi = () => ({
    getState: () => state,
    setState: (value) => { state = value; return value; },
    postMessage: (message) => {
      if (message.type === 'ready') {
        send({ type: 'file', view: data.view });
      } else if (message.type === 'requestLayerCoefficients') {
        const found = data.coefficients[message.module];
        send(found
          ? { type: 'layerCoefficients', module: message.module, mContent: decode(found[0]), mStyle: decode(found[1]) }
          : { type: 'layerCoefficients', module: message.module, mContent: [], mStyle: [], error: 'not in this report' });
      } else if (message.type === 'requestTensorStats') {
        send({ type: 'tensorStats', name: message.name, stats: null, error: 'Tensor statistics are not part of a standalone report; open the file in VS Code.' });
      }
    },
  });
})();`;

export async function buildHtmlReport(sidecar: string, assets = webviewAssets()): Promise<string> {
  const view = await buildFileView(sidecar);
  if (!view.ziplora) throw new Error(`${sidecar} is not a ZipLoRA sidecar`);
  const coefficients: Record<string, [string, string]> = {};
  await withSafetensors(view.ziplora.sidecar, async (file) => {
    const base64 = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
    for (const layer of view.ziplora!.layers) {
      coefficients[layer.module] = [base64(await file.readF32(`${layer.module}.m_content`)), base64(await file.readF32(`${layer.module}.m_style`))];
    }
  });
  const title = `ZipLoRA report — ${path.basename(view.ziplora.mergedFile)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${title.replace(/[<>&]/g, '')}</title>
<style>${inlineSafe(THEME_DEFAULTS)}</style>
<style>${inlineSafe(assets.style)}</style>
</head>
<body class="ziplora-report">
<div id="app" class="app"></div>
<script type="application/json" id="ziplora-report-data">${inlineSafe(JSON.stringify({ view, coefficients }))}</script>
<script>${inlineSafe(API_STAND_IN)}</script>
<script>${inlineSafe(assets.script)}</script>
</body>
</html>
`;
}
