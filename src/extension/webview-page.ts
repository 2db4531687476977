/** The HTML of a webview showing one of the webview bundles, with a fresh nonce and only dist/ readable. */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { renderWebviewHtml } from '../shared/webview-html';

/** `bundle`: dist/webview.* (the editor and the Compare panel) or dist/merge-panel.* (the merge panel). */
export function setUpWebview(webview: vscode.Webview, extensionUri: vscode.Uri, title: string, bundle: 'webview' | 'merge-panel' = 'webview'): void {
  const dist = vscode.Uri.joinPath(extensionUri, 'dist');
  webview.options = { enableScripts: true, localResourceRoots: [dist] };
  webview.html = renderWebviewHtml({
    assets: {
      kind: 'linked',
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, `${bundle}.js`)).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, `${bundle}.css`)).toString(),
      cspSource: webview.cspSource,
    },
    nonce: randomBytes(16).toString('base64'),
    title,
  });
}
