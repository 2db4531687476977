/**
 * A standalone HTML report of a merge (`ziplora report`, `ziplora merge --report`): the webview page of
 * webview-html.ts with the bundle and the report's data inlined, so it opens in any browser, offline, for
 * sharing. The bundle answers its own requests from that data (webview/report-channel.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readReportData, ReportData } from '../core/view/report-data';
import { renderWebviewHtml } from './webview-html';

export interface WebviewBundle {
  readonly script: string;
  readonly style: string;
}

/** dist/webview.js and dist/webview.css: beside the running bundle (dist/cli.js), or in dist/ when run from the sources. */
export function webviewBundle(): WebviewBundle {
  const folder = [__dirname, path.resolve(__dirname, '../../dist')].find((dir) => existsSync(path.join(dir, 'webview.js')));
  if (!folder) throw new Error('the webview bundle (dist/webview.js) was not found; run `npm run build`');
  const style = path.join(folder, 'webview.css');
  return { script: readFileSync(path.join(folder, 'webview.js'), 'utf8'), style: existsSync(style) ? readFileSync(style, 'utf8') : '' };
}

export function renderHtmlReport(data: ReportData, bundle: WebviewBundle): string {
  const merged = data.view.ziplora ? path.basename(data.view.ziplora.mergedFile) : path.basename(data.view.summary.file);
  return renderWebviewHtml({
    assets: { kind: 'inlined', script: bundle.script, style: bundle.style, data },
    nonce: randomBytes(16).toString('base64'),
    title: `ZipLoRA report — ${merged}`,
  });
}

export async function buildHtmlReport(sidecar: string, bundle = webviewBundle()): Promise<string> {
  return renderHtmlReport(await readReportData(sidecar), bundle);
}
