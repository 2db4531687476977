/**
 * The standalone report (`ziplora report`) in Chromium: the same page builder as the VS Code webview with the
 * bundle and data inlined, under its own strict CSP, drawing the ZipLoRA tab in the browser's light or dark
 * scheme and answering a layer's coefficients from the inlined data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ReportData } from '../../src/shared/webview-protocol.js';
import { renderHtmlReport, type WebviewBundle } from '../../src/shared/html-report.js';
import { fileView, layerCoefficients, MODULES } from './fixtures.js';
import { bundleWebview, countPixelsNear, launchChromium, openTab } from './harness.js';
import path from 'node:path';
import { readReportData } from '../../src/core/view/report-data.js';
import { tempDir } from '../support/build-safetensors.js';
import { buildSidecar, writeFormat2Sidecar } from '../support/sidecar-builder.js';

/** Only layer 5's coefficients are inlined: the test opens that layer, and another one reports what is missing. */
const OPENED = 5;

function reportData(): ReportData {
  const { inputs, m } = layerCoefficients(MODULES[OPENED].module);
  const base64 = (values: readonly number[]) => Buffer.from(new Float32Array(values).buffer).toString('base64');
  return { view: fileView(), coefficients: { [MODULES[OPENED].module]: { inputs, m: m.map(base64) } } };
}

let browser: Browser;
let html: string;
let assets: WebviewBundle;

before(async () => {
  const bundle = await bundleWebview();
  assets = { script: bundle.js, style: bundle.css };
  html = renderHtmlReport(reportData(), assets);
  browser = await launchChromium();
});
after(() => browser?.close());

async function openReport(colorScheme: 'light' | 'dark', content = html): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => void (message.type() === 'error' && problems.push(`console: ${message.text()}`)));
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => console.error('CSP: ' + e.violatedDirective));`);
  await page.setContent(content, { waitUntil: 'load' });
  return { page, problems };
}

describe('standalone report', () => {
  it('renders under its CSP in the light scheme and answers a layer from the inlined coefficients', async () => {
    const { page, problems } = await openReport('light');
    await page.locator('.overview').waitFor();
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; img-src data:; style-src &#39;nonce-/);
    assert.equal(await page.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(255, 255, 255)', 'Light Modern background');

    await openTab(page, 'ZipLoRA');
    const canvas = page.locator('.ziplora .layer-chart canvas').first();
    await canvas.waitFor();
    await canvas.focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < OPENED; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    const detail = page.locator('.ziplora .layer-detail');
    await detail.locator('canvas').waitFor();
    assert.equal(await detail.locator('.tensor-name').innerText(), MODULES[OPENED].module);
    await page.waitForTimeout(100);
    assert.ok((await countPixelsNear(page, '.ziplora .layer-detail canvas', '#652d90', 60)) > 200, 'scatter points drawn in the report theme\'s purple');

    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await detail.getByText('not in this report').waitFor();
    assert.deepEqual(problems, [], 'no CSP violation or page error');
  });

  it('follows a dark system scheme', async () => {
    const { page, problems } = await openReport('dark');
    await page.locator('.overview').waitFor();
    assert.equal(await page.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(31, 31, 31)', 'Dark Modern background');
    assert.deepEqual(problems, []);
  });

  it('a three-input merge with λ auto (read from its sidecar as `ziplora report` does): N series, pairs, λ curve, coefficients', async () => {
    const modules = MODULES.slice(0, 120).map((m) => ({ module: m.module, columns: Math.min(m.in, 256) }));
    const built = buildSidecar({ inputs: ['subject.safetensors', 'style.safetensors', 'light.safetensors'], modules, lambda: 'auto', seed: 3 });
    const sidecar = path.join(tempDir(), 'three.ziplora.safetensors');
    await writeFormat2Sidecar(sidecar, built, 'three.safetensors');
    const { page, problems } = await openReport('dark', renderHtmlReport(await readReportData(sidecar), assets));
    await page.locator('.overview').waitFor();
    await openTab(page, 'ZipLoRA');
    const sparsity = page.locator('.ziplora .charts > .layer-chart').first();
    // The chart may still be drawn anew once the tab is laid out (a busy machine): press until its live region answers.
    let said = '';
    for (let attempt = 0; attempt < 20 && !said; attempt++) {
      await sparsity.locator('canvas').focus();
      await page.keyboard.press('Home');
      said = await sparsity.locator('[aria-live]').innerText();
      if (!said) await page.waitForTimeout(100);
    }
    assert.match(said, /1 subject sparse [\d.]+ %, 2 style sparse [\d.]+ %, 3 light sparse [\d.]+ %/);
    assert.equal(await page.locator('.ziplora .pair-table tbody tr').count(), 3);
    assert.match((await page.locator('.ziplora .lambda-panel canvas').getAttribute('aria-label'))!, /chosen/);
    await page.keyboard.press('Enter');
    const detail = page.locator('.ziplora .layer-detail');
    await detail.locator('.scatter-slot canvas').waitFor();
    assert.match(await detail.locator('.scatter-slot .chart-title').innerText(), /^m_1 vs m_2 per column \(256 columns\)/);
    assert.deepEqual(problems, []);
  });
});
