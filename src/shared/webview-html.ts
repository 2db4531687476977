/**
 * The webview's HTML page, shared by the extension host (which passes webview URIs) and the browser tests
 * (which pass http://127.0.0.1 URLs). Everything the page shows is built by dist/webview.js; the page itself
 * holds no inline style or script, so the strict Content-Security-Policy below needs no 'unsafe-inline'.
 */
export interface WebviewHtmlOptions {
  /** URI of dist/webview.js as the webview may load it (webview.asWebviewUri). */
  readonly scriptUri: string;
  /** URI of dist/webview.css. */
  readonly styleUri: string;
  /** URI of codicon.css (from @vscode/codicons), when the host ships it; vscode-icon looks for its link by id. */
  readonly codiconUri?: string;
  /** webview.cspSource: the origin the script, style and font URIs are served from. */
  readonly cspSource: string;
  /** A fresh random value per page load; only the script carrying it may run. */
  readonly nonce: string;
  readonly title: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function renderWebviewHtml(options: WebviewHtmlOptions): string {
  const { scriptUri, styleUri, codiconUri, cspSource, nonce, title } = options;
  const codicons = codiconUri ? `\n    <link rel="stylesheet" id="vscode-codicon-stylesheet" href="${escapeHtml(codiconUri)}">` : '';
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(cspSource, nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <link rel="stylesheet" href="${escapeHtml(styleUri)}">${codicons}
    <title>${escapeHtml(title)}</title>
  </head>
  <body>
    <div id="app" class="app"><p class="app-loading">Loading ${escapeHtml(title)}…</p></div>
    <script nonce="${escapeHtml(nonce)}" src="${escapeHtml(scriptUri)}"></script>
  </body>
</html>
`;
}
