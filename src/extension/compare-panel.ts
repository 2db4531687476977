/** The Compare command's panel: the editor's webview bundle showing a comparison it is sent. */
import path from 'node:path';
import * as vscode from 'vscode';
import { ComparisonView, isFromWebview } from '../shared/webview-protocol';
import { DisposableSet } from './disposables';
import { setUpWebview } from './webview-page';

/** Opens the panel, owned by `panels` until the user closes it; its listeners go with it. */
export function showComparisonPanel(extensionUri: vscode.Uri, comparison: ComparisonView, panels: DisposableSet): vscode.WebviewPanel {
  const title = comparison.files.map((f) => path.basename(f.file)).join(' ↔ ');
  const panel = panels.add(vscode.window.createWebviewPanel('ziplora.compare', `Compare: ${title}`, vscode.ViewColumn.Active, { enableScripts: true }));
  setUpWebview(panel.webview, extensionUri, title);
  const listeners = new DisposableSet();
  listeners.add(
    panel.webview.onDidReceiveMessage((message: unknown) => {
      // The page asks for its data when it is (re)loaded; nothing else it sends means anything here.
      if (isFromWebview(message) && message.type === 'ready') void panel.webview.postMessage({ type: 'comparison', comparison });
    }),
  );
  listeners.add(
    panel.onDidDispose(() => {
      listeners.dispose();
      panels.forget(panel);
    }),
  );
  return panel;
}
