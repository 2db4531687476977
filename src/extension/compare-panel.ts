/** The Compare command's panel: the editor's webview bundle showing a comparison it is sent. */
import path from 'node:path';
import * as vscode from 'vscode';
import { ComparisonView, isFromWebview } from '../shared/webview-protocol';
import { setUpWebview } from './webview-page';

export function showComparisonPanel(extensionUri: vscode.Uri, comparison: ComparisonView): vscode.WebviewPanel {
  const title = `${path.basename(comparison.first.file)} ↔ ${path.basename(comparison.second.file)}`;
  const panel = vscode.window.createWebviewPanel('ziplora.compare', `Compare: ${title}`, vscode.ViewColumn.Active, { enableScripts: true });
  setUpWebview(panel.webview, extensionUri, title);
  panel.webview.onDidReceiveMessage((message: unknown) => {
    // The page asks for its data when it is (re)loaded; nothing else it sends means anything here.
    if (isFromWebview(message) && message.type === 'ready') void panel.webview.postMessage({ type: 'comparison', comparison });
  });
  return panel;
}
