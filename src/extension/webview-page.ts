/** The HTML of a webview showing the editor's bundle, with a fresh nonce and only dist/ readable. */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { renderWebviewHtml } from '../shared/webview-html';

export function setUpWebview(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): void {
  const dist = vscode.Uri.joinPath(extensionUri, 'dist');
  webview.options = { enableScripts: true, localResourceRoots: [dist] };
  webview.html = renderWebviewHtml({
    assets: {
      kind: 'linked',
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      cspSource: webview.cspSource,
    },
    nonce: randomBytes(16).toString('base64'),
    title,
  });
}
