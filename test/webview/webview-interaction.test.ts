/**
 * What the user does in the webview, end to end in Chromium: filtering and sorting the virtualised tensor
 * table, selecting with the keyboard (which posts requestTensorStats), opening a layer from a 1,000-layer
 * chart (requestLayerCoefficients, then the scatter), revealing files, and state surviving a reload.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { fileView, layerCoefficients, loraLayers, MODULES, TENSORS, tensorStats } from './fixtures.js';
import { countPixelsNear, openTab, useWebviewSession, type WebviewPage } from './harness.js';
import { THEMES } from './themes.js';

let view: WebviewPage;
let page: Page;

const session = useWebviewSession();

beforeEach(async () => {
  view = await session.open('dark');
  page = view.page;
  await view.waitForPosted('ready');
  await view.send({ type: 'file', view: fileView() });
});

const tensorFilter = () => page.locator('.tensors vscode-textfield input');
const renderedTensorNames = () => page.locator('.tensor-table .vt-body-row:not([hidden]) .vt-cell:first-child').allInnerTexts();
const shownCount = () => page.locator('.tensors .filter-count').innerText();

async function expectNoProblems(): Promise<void> {
  assert.deepEqual(await view.cspViolations(), [], 'no CSP violation');
  assert.deepEqual(view.errors, [], 'no page error');
}

describe('tensors tab', () => {
  it('filters by substring and by /regex/, and reports an invalid regex instead of throwing', async () => {
    await openTab(page, 'Tensors');
    await page.locator('.tensor-table .vt-body-row').first().waitFor();
    const rendered = (await renderedTensorNames()).length;
    assert.ok(rendered > 10 && rendered < 120, `only the visible rows are in the DOM (${rendered} of ${TENSORS.length})`);
    assert.equal(await shownCount(), '3,000 rows');

    // kohya names flatten dots to underscores, so the dotted text matches nothing: the count says so.
    await tensorFilter().fill('ATTN2.to_k');
    await page.waitForFunction(() => document.querySelector('.tensors .filter-count')?.textContent?.startsWith('0 of'));
    assert.equal(await page.locator('.tensors .vt-empty').isVisible(), true, 'an empty result says so');

    await tensorFilter().fill('ATTN2_to_k');
    const expected = TENSORS.filter((t) => t.name.toLowerCase().includes('attn2_to_k'));
    assert.ok(expected.length > 0);
    await page.waitForFunction((n) => document.querySelector('.tensors .filter-count')?.textContent === `${n} of 3,000`, expected.length.toLocaleString('en-US'));
    for (const name of await renderedTensorNames()) assert.match(name, /attn2_to_k/i);

    await tensorFilter().fill('/^lora_text_encoder_2_.*mlp_fc1\\.lora_(up|down)/');
    const regex = TENSORS.filter((t) => /^lora_text_encoder_2_.*mlp_fc1\.lora_(up|down)/.test(t.name));
    assert.equal(regex.length, 64);
    await page.waitForFunction(() => document.querySelector('.tensors .filter-count')?.textContent === '64 of 3,000');
    assert.equal(await page.locator('.tensors .filter-error').isVisible(), false);

    await tensorFilter().fill('/lora_(up/');
    const error = page.locator('.tensors .filter-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /Invalid regular expression/);
    assert.equal(await shownCount(), '64 of 3,000', 'an invalid expression keeps the last result');
    await expectNoProblems();
    await page.context().close();
  });

  it('sorts by size, and selecting a row with the keyboard posts requestTensorStats and shows the reply', async () => {
    await openTab(page, 'Tensors');
    await page.locator('.tensor-table .vt-body-row').first().waitFor();
    await page.locator('.tensor-table .vt-sort', { hasText: 'Size' }).click();
    await page.locator('.tensor-table .vt-sort', { hasText: 'Size' }).click();
    assert.equal(await page.locator('.tensor-table [role="columnheader"]', { hasText: 'Size' }).getAttribute('aria-sort'), 'descending');
    const bySize = [...TENSORS].sort((a, b) => b.dataOffsets[1] - b.dataOffsets[0] - (a.dataOffsets[1] - a.dataOffsets[0]));
    const largest = bySize[0].dataOffsets[1] - bySize[0].dataOffsets[0];
    await page.waitForFunction(() => document.querySelector('.tensor-table .vt-body-row[data-index="0"]') !== null);
    const firstName = await page.locator('.tensor-table .vt-body-row[data-index="0"] .vt-cell:first-child').innerText();
    const firstTensor = TENSORS.find((t) => t.name === firstName)!;
    assert.equal(firstTensor.dataOffsets[1] - firstTensor.dataOffsets[0], largest, 'largest tensor first');

    await page.locator('.tensor-table').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal((await view.posted()).some((m) => m.type === 'requestTensorStats'), false, 'arrows move the cursor only');
    await page.keyboard.press('Enter');
    const thirdName = await page.locator('.tensor-table .vt-body-row[data-index="2"] .vt-cell:first-child').innerText();
    const request = await view.waitForPosted('requestTensorStats');
    assert.equal(request.name, thirdName);
    await page.locator('.tensor-detail .spinner').waitFor();

    await view.send(tensorStats(request.name));
    await page.locator('.tensor-detail canvas').waitFor();
    const detail = await page.locator('.tensor-detail').innerText();
    for (const label of ['Min', 'Max', 'Mean', 'Std', 'Abs max', 'L2 norm', 'Zeros', 'NaN', 'Inf']) assert.match(detail, new RegExp(`^${label}$`, 'm'));
    assert.match(detail, /0\.0191/);
    assert.equal(await page.locator('.tensor-detail .spinner').count(), 0);
    await page.waitForTimeout(100);
    assert.ok((await countPixelsNear(page, '.tensor-detail canvas', THEMES.dark.variables['--vscode-charts-blue'])) > 500, 'histogram drawn');
    await view.screenshot('dark-tensor-stats');

    // An error reply replaces the spinner with its text.
    await page.locator('.tensor-table .vt-body-row[data-index="0"]').click();
    const second = await view.waitForPosted('requestTensorStats', (m) => m.name === firstName);
    await view.send({ type: 'tensorStats', name: second.name, stats: null, error: 'F8_E8M0 values cannot be decoded' });
    await page.locator('.tensor-detail .error-text').waitFor();
    assert.match(await page.locator('.tensor-detail .error-text').innerText(), /F8_E8M0 values cannot be decoded/);
    await expectNoProblems();
    await page.context().close();
  });

  it('keeps tab, filter, sort, selection and scroll across a reload (getState)', async () => {
    await openTab(page, 'Tensors');
    await tensorFilter().fill('lora_down');
    await page.waitForFunction(() => document.querySelector('.tensors .filter-count')?.textContent === '1,000 of 3,000');
    await page.locator('.tensor-table .vt-sort', { hasText: 'Name' }).click();
    await page.locator('.tensor-table .vt-viewport').evaluate((v) => (v.scrollTop = 22 * 400));
    await page.waitForTimeout(100);
    const row = page.locator('.tensor-table .vt-body-row:not([hidden])').nth(12);
    const selectedName = await row.locator('.vt-cell').first().innerText();
    await row.click();
    await view.waitForPosted('requestTensorStats', (m) => m.name === selectedName);
    const scrollBefore = await page.locator('.tensor-table .vt-viewport').evaluate((v) => v.scrollTop);

    await page.reload();
    await view.waitForPosted('ready');
    await view.send({ type: 'file', view: fileView() });
    // The selection is asked for again: statistics are not kept in the state.
    const again = await view.waitForPosted('requestTensorStats');
    assert.equal(again.name, selectedName);
    await page.locator('.tensors').waitFor({ state: 'visible' });
    assert.equal(await page.locator('vscode-tab-panel:not([hidden]) .tensors').count(), 1, 'Tensors tab is active again');
    assert.equal(await tensorFilter().inputValue(), 'lora_down');
    assert.equal(await shownCount(), '1,000 of 3,000');
    assert.equal(await page.locator('.tensor-table [role="columnheader"]', { hasText: 'Name' }).getAttribute('aria-sort'), 'ascending');
    await page.waitForFunction((top) => Math.abs((document.querySelector('.tensor-table .vt-viewport') as HTMLElement).scrollTop - top) < 2, scrollBefore);
    assert.equal(await page.locator('.tensor-table .vt-body-row.is-selected .vt-cell').first().innerText(), selectedName);
    await expectNoProblems();
    await page.context().close();
  });
});

describe('per-layer charts', () => {
  it('a click on the ZipLoRA chart posts requestLayerCoefficients and the scatter appears after the reply', async () => {
    await openTab(page, 'ZipLoRA');
    const canvas = page.locator('.ziplora .layer-chart canvas').first();
    await canvas.waitFor();
    const box = (await canvas.boundingBox())!;
    await canvas.click({ position: { x: box.width / 2, y: box.height / 2 } });
    const request = await view.waitForPosted('requestLayerCoefficients');
    const index = MODULES.findIndex((m) => m.module === request.module);
    // The plot area starts after the y axis, so the middle of the canvas is a little left of layer 500.
    assert.ok(index > 400 && index < 560, `the layer under the pointer was opened (${index}: ${request.module})`);
    const detail = page.locator('.ziplora .layer-detail');
    await detail.locator('.spinner').waitFor();
    assert.equal(await detail.locator('.tensor-name').innerText(), request.module);

    await view.send(layerCoefficients(request.module));
    const scatter = detail.locator('canvas');
    await scatter.waitFor();
    await page.waitForTimeout(100);
    assert.ok((await countPixelsNear(page, '.ziplora .layer-detail canvas', THEMES.dark.variables['--vscode-charts-purple'], 60)) > 200, 'scatter points drawn');
    const scatterBox = (await scatter.boundingBox())!;
    assert.ok(Math.abs(scatterBox.width - scatterBox.height) < 4, 'square plot: both axes 0…1');
    await detail.scrollIntoViewIfNeeded();
    await view.screenshot('dark-ziplora-layer');

    // Keyboard: Home, five steps right, Enter opens layer 5 (in network order).
    await canvas.focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await view.waitForPosted('requestLayerCoefficients', (m) => m.module === MODULES[5].module);

    await page.locator('.ziplora vscode-button', { hasText: 'Reveal merged file' }).click();
    await page.locator('.ziplora vscode-button', { hasText: 'Reveal sidecar' }).click();
    const reveals = (await view.posted()).filter((m) => m.type === 'revealFile');
    assert.deepEqual(reveals, [{ type: 'revealFile', which: 'merged' }, { type: 'revealFile', which: 'sidecar' }]);
    await expectNoProblems();
    await page.context().close();
  });

  it('a click on the LoRA chart selects the layer in the table and shows its details; the toggle switches measure', async () => {
    await openTab(page, 'LoRA');
    await view.send({ type: 'loraLayers', layers: loraLayers() });
    const canvas = page.locator('.lora .layer-chart canvas');
    await canvas.waitFor();
    const box = (await canvas.boundingBox())!;
    await canvas.click({ position: { x: box.width * 0.8, y: box.height / 2 } });
    const heading = page.locator('.lora .layer-detail .tensor-name');
    await heading.waitFor();
    const module = await heading.innerText();
    assert.ok(MODULES.some((m) => m.module === module));
    assert.equal(await page.locator('.lora-table .vt-body-row.is-selected .vt-cell').first().innerText(), module, 'table follows the chart');
    assert.equal(await page.locator('.lora .layer-detail canvas').count(), 1, 'singular values chart');

    await page.locator('.lora vscode-button', { hasText: 'Effective rank' }).click();
    assert.match(await page.locator('.lora .chart-title').first().innerText(), /Effective rank/);
    await page.waitForTimeout(100);
    assert.ok((await countPixelsNear(page, '.lora .layer-chart canvas', THEMES.dark.variables['--vscode-charts-green'])) > 2000, 'effective-rank bars drawn');
    await view.screenshot('dark-lora-layer');
    await expectNoProblems();
    await page.context().close();
  });
});
