/**
 * The one HTML page of the webview bundle, for every place it is shown: a VS Code webview (the editor and the
 * Compare panel: the host passes webview URIs), the browser tests (http://127.0.0.1 URLs), and the standalone
 * report (`ziplora report`: the bundle and its data inlined in one file). Everything the page shows is built by
 * dist/webview.js. The page holds no inline style or script without the nonce, so its Content-Security-Policy
 * needs no 'unsafe-inline'.
 */
import { REPORT_DATA_ELEMENT_ID } from './webview-protocol';

/** Bundle files loaded by URI, from the origin `cspSource` (webview.asWebviewUri, or the test server). */
export interface LinkedAssets {
  readonly kind: 'linked';
  /** URI of dist/webview.js. */
  readonly scriptUri: string;
  /** URI of dist/webview.css. */
  readonly styleUri: string;
  /** URI of codicon.css (from @vscode/codicons), when the host ships it; vscode-icon looks for its link by id. */
  readonly codiconUri?: string;
  /** webview.cspSource: the origin the script, style and font URIs are served from. */
  readonly cspSource: string;
}

/** Bundle and data inside the page, for a file that opens offline in any browser. */
export interface InlinedAssets {
  readonly kind: 'inlined';
  /** dist/webview.js and dist/webview.css as text. */
  readonly script: string;
  readonly style: string;
  /** What the page answers the webview's requests from, in the protocol's REPORT_DATA_ELEMENT_ID element. */
  readonly data: unknown;
}

export interface WebviewPageOptions {
  readonly assets: LinkedAssets | InlinedAssets;
  /** A fresh random value per page; only the scripts and inline styles carrying it may run. */
  readonly nonce: string;
  readonly title: string;
}

/** On the standalone report's body: webview/report-theme.css gives it the theme variables VS Code would set. */
export const REPORT_BODY_CLASS = 'ziplora-report';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Keeps `</script>`, `</style>` and `<!--` inside inlined code from closing or commenting out its element. */
function inlineCode(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** JSON that cannot end its <script> element: every `<` is written as the escape \u003c. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function contentSecurityPolicy(assets: LinkedAssets | InlinedAssets, nonce: string): string {
  // Linked files come from the webview's origin; an inlined page loads no file and applies only what carries the nonce.
  const files = assets.kind === 'linked' ? assets.cspSource : 'data:';
  const styles = assets.kind === 'linked' ? assets.cspSource : `'nonce-${nonce}'`;
  const images = assets.kind === 'linked' ? `${assets.cspSource} data:` : 'data:';
  return ["default-src 'none'", `img-src ${images}`, `style-src ${styles}`, `font-src ${files}`, `script-src 'nonce-${nonce}'`].join('; ');
}

function headAssets(assets: LinkedAssets | InlinedAssets, nonce: string): string {
  if (assets.kind === 'inlined') return `<style nonce="${escapeHtml(nonce)}">${inlineCode(assets.style)}</style>`;
  const codicons = assets.codiconUri ? `\n    <link rel="stylesheet" id="vscode-codicon-stylesheet" href="${escapeHtml(assets.codiconUri)}">` : '';
  return `<link rel="stylesheet" href="${escapeHtml(assets.styleUri)}">${codicons}`;
}

function bodyScripts(assets: LinkedAssets | InlinedAssets, nonce: string): string {
  const n = escapeHtml(nonce);
  if (assets.kind === 'linked') return `<script nonce="${n}" src="${escapeHtml(assets.scriptUri)}"></script>`;
  return `<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${inlineJson(assets.data)}</script>
    <script nonce="${n}">${inlineCode(assets.script)}</script>`;
}

export function renderWebviewHtml({ assets, nonce, title }: WebviewPageOptions): string {
  const bodyClass = assets.kind === 'inlined' ? ` class="${REPORT_BODY_CLASS}"` : '';
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(assets, nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    ${headAssets(assets, nonce)}
    <title>${escapeHtml(title)}</title>
  </head>
  <body${bodyClass}>
    <div id="app" class="app"><p class="app-loading">Loading ${escapeHtml(title)}…</p></div>
    ${bodyScripts(assets, nonce)}
  </body>
</html>
`;
}
