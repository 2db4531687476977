/**
 * The ZipLoRA tab of sidecars read from disk the way the host reads them (readZipLoraView): a three-input merge
 * with λ auto (format 2) draws a series per input, the pairs' table and picker, and the λ trade-off with the
 * chosen λ marked, reachable by keyboard; an old two-input sidecar (format 1) still reads as content and style.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { readLayerCoefficients, readZipLoraView } from '../../src/core/view/file-view.js';
import type { FileView, ZipLoraView } from '../../src/shared/webview-protocol.js';
import { tempDir } from '../support/build-safetensors.js';
import { buildSidecar, writeFormat1Sidecar, writeFormat2Sidecar } from '../support/sidecar-builder.js';
import { fileView, MODULES } from './fixtures.js';
import { countPixelsNear, openTab, useWebviewSession, type WebviewPage } from './harness.js';
import { THEMES, type ThemeName } from './themes.js';

const session = useWebviewSession();
/** A value as the webview's formatValue writes it (for these magnitudes). */
const shown = (value: number, digits: number) => Number(value.toPrecision(digits)).toString();
const dir = tempDir();
/** 300 SDXL modules: enough blocks to label, small enough to build in a blink. */
const modules = MODULES.slice(300, 600).map((m) => ({ module: m.module, columns: Math.min(m.in, 320) }));

async function threeWay(name: string): Promise<ZipLoraView> {
  const built = buildSidecar({ inputs: ['subject.safetensors', 'style.safetensors', 'lighting.safetensors'], modules, lambda: 'auto', weights: [1, 0.8, 0.6], seed: 5 });
  const file = path.join(dir, `${name}.ziplora.safetensors`);
  await writeFormat2Sidecar(file, built, `${name}.safetensors`);
  return readZipLoraView(file);
}

async function show(view: WebviewPage, ziplora: ZipLoraView): Promise<void> {
  const base = fileView();
  const page: FileView = { ...base, summary: { ...base.summary, file: ziplora.mergedFile }, lora: null, ziplora };
  await view.waitForPosted('ready');
  await view.send({ type: 'file', view: page });
  await openTab(view.page, 'ZipLoRA');
  await view.page.locator('.ziplora .layer-chart canvas').first().waitFor();
  await view.page.waitForTimeout(100);
}

/** What the chart's live region says after the keyboard moves its cursor (the series' names and values). */
async function announced(view: WebviewPage, chart: string, keys: string[]): Promise<string> {
  const canvas = view.page.locator(`${chart} canvas`).first();
  await canvas.focus();
  for (const key of keys) await view.page.keyboard.press(key);
  return view.page.locator(`${chart} [aria-live]`).first().innerText();
}

for (const theme of ['dark', 'light'] as ThemeName[]) {
  test(`three inputs, λ auto (${theme}): a series per input, the pairs, and the λ curve with the chosen λ`, async () => {
    const report = await threeWay(`three-${theme}`);
    const view = await session.open(theme);
    const { page } = view;
    await show(view, report);
    const colors = THEMES[theme].variables;

    // The inputs, named by number and file.
    const facts = await page.locator('.ziplora .facts').first().innerText();
    assert.match(facts, /Input 1 subject\s+subject\.safetensors\n/);
    assert.match(facts, /Input 2 style\s+style\.safetensors × 0\.8/);
    assert.match(facts, /Input 3 lighting\s+lighting\.safetensors × 0\.6/);

    // Sparsity: one line per input, each drawn in its colour, each named when the keyboard reads a layer.
    const sparsity = '.ziplora .charts > .layer-chart:nth-of-type(1)';
    for (const color of ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-purple'] as const) {
      assert.ok((await countPixelsNear(page, `${sparsity} canvas`, colors[color])) > 100, `the sparsity chart draws the input in ${color}`);
    }
    assert.match(await announced(view, sparsity, ['Home']), /1 subject sparse [\d.]+ %, 2 style sparse [\d.]+ %, 3 lighting sparse [\d.]+ %/);

    // Pairs: a table of the three, and the picker switching the overlap chart (by keyboard).
    assert.deepEqual(await page.locator('.ziplora .pair-table tbody th').allInnerTexts(), ['1 subject · 2 style', '1 subject · 3 lighting', '2 style · 3 lighting']);
    const overlap = page.locator('.ziplora .pair-overlap .layer-chart');
    assert.equal(await overlap.locator('.chart-title').innerText(), 'Column overlap of 1 subject · 2 style: before vs after');
    const picker = page.locator('.ziplora .pair-picker vscode-button');
    await picker.nth(2).focus();
    await page.keyboard.press('Enter');
    assert.equal(await picker.nth(2).getAttribute('aria-pressed'), 'true');
    assert.equal(await overlap.locator('.chart-title').innerText(), 'Column overlap of 2 style · 3 lighting: before vs after');
    const layer = report.layers.find((l) => l.module === modules[0].module)!;
    const pair = layer.pairs.find((p) => p.a === 1 && p.b === 2)!;
    const said = await announced(view, '.ziplora .pair-overlap .layer-chart', ['Home']);
    assert.ok(said.includes(`overlap after ${shown(pair.overlapAfter, 3)}`), `the picked pair's values are read out: ${said}`);
    assert.ok((await countPixelsNear(page, '.ziplora .pair-overlap canvas', colors['--vscode-charts-green'])) > 100, 'overlap after is drawn for the picked pair');

    // The λ curve: error and overlap drawn, the chosen λ named on the chart and by the keyboard.
    const lambda = page.locator('.ziplora .lambda-panel');
    await lambda.locator('canvas').waitFor();
    const label = (await lambda.locator('canvas').getAttribute('aria-label'))!;
    assert.match(label, /chosen( in \d+ of 300 layers)?: λ 0\.0[13]/);
    assert.ok((await countPixelsNear(page, '.ziplora .lambda-panel canvas', colors['--vscode-charts-blue'])) > 100, 'the error line is drawn');
    assert.ok((await countPixelsNear(page, '.ziplora .lambda-panel canvas', colors['--vscode-charts-green'])) > 100, 'the overlap line is drawn');
    const path0 = report.lambdaCurve!;
    const home = await announced(view, '.ziplora .lambda-panel', ['Home']);
    assert.match(home, /^λ 0(: | \()/);
    assert.ok(home.includes(`fidelity error ${shown(path0[0].error, 4)}, residual overlap ${shown(path0[0].overlap, 4)}`), home);
    const end = await announced(view, '.ziplora .lambda-panel', ['End']);
    assert.match(end, /^λ 0\.1/);
    const chosen = report.layers.map((l) => l.lambda);
    const majority = [0, 0.01, 0.03, 0.1].reduce((best, v) => (chosen.filter((c) => c === v).length >= chosen.filter((c) => c === best).length ? v : best));
    const onChosen = await announced(view, '.ziplora .lambda-panel', ['Home', ...Array([0, 0.01, 0.03, 0.1].indexOf(majority)).fill('ArrowRight')]);
    assert.match(onChosen, /\(chosen/, `the chosen point says so: ${onChosen}`);

    // Opening a layer: its own λ path, and the scatter of the picked pair (m_2 vs m_3) from the sidecar.
    await announced(view, sparsity, ['Home', 'Enter']);
    const request = await view.waitForPosted('requestLayerCoefficients');
    assert.equal(request.module, modules[0].module);
    const { inputs, m } = await readLayerCoefficients(report.sidecar, request.module);
    await view.send({ type: 'layerCoefficients', module: request.module, inputs, m });
    const detail = page.locator('.ziplora .layer-detail');
    await detail.locator('.scatter-slot canvas').waitFor();
    assert.match(await detail.locator('.scatter-slot .chart-title').innerText(), /^m_2 vs m_3 per column/);
    assert.match(await detail.locator('.facts').innerText(), /λ \(chosen\)\s+0\.0[13]|λ \(chosen\)\s+0\b/);
    assert.match(await detail.locator('.facts').innerText(), /Pair 1 subject · 3 lighting\s+\|cos\|/);
    assert.equal(await detail.locator('.lambda-curve canvas').count(), 1, 'the layer\'s own λ path');

    await page.locator('.ziplora .lambda-panel').scrollIntoViewIfNeeded();
    await view.screenshot(`${theme}-ziplora-3way-lambda`);
    assert.deepEqual(await view.cspViolations(), []);
    assert.deepEqual(view.errors, []);
    await page.context().close();
  });
}

test('a format-1 sidecar (two inputs) still renders as content and style, with the zipped shares', async () => {
  const built = buildSidecar({ inputs: ['subject.safetensors', 'style.safetensors'], modules, seed: 9 });
  const file = path.join(dir, 'old.ziplora.safetensors');
  await writeFormat1Sidecar(file, built, 'old.safetensors');
  const report = await readZipLoraView(file);
  assert.equal(report.format, 1);
  const view = await session.open('dark');
  const { page } = view;
  await show(view, report);
  assert.equal(await page.locator('.ziplora .lambda-panel').count(), 0, 'no λ curve for a merge at one λ');
  assert.equal(await page.locator('.ziplora .pair-picker').count(), 0, 'no pair picker for one pair');
  const facts = await page.locator('.ziplora .facts').first().innerText();
  assert.match(facts, /Input \(content\)\s+subject\.safetensors/);
  assert.match(facts, /Input \(style\)\s+style\.safetensors/);
  assert.match(facts, /Mean zipped columns\s+\d/);
  assert.match(await announced(view, '.ziplora .charts > .layer-chart:nth-of-type(1)', ['Home']), /content m_c sparse [\d.]+ %, style m_s sparse [\d.]+ %, zipped columns [\d.]+ %/);
  const titles = await page.locator('.ziplora .charts .chart-title').allInnerTexts();
  assert.deepEqual(titles, ['Coefficient sparsity', 'Column overlap: before vs after', 'Relative error: ZipLoRA vs direct merge']);
  assert.match(await announced(view, '.ziplora .charts > .layer-chart:nth-of-type(3)', ['Home']), /content, ZipLoRA [\d.]+, style, ZipLoRA [\d.]+, content, direct [\d.]+, style, direct [\d.]+/);

  await page.keyboard.press('Enter');
  const request = await view.waitForPosted('requestLayerCoefficients');
  const { inputs, m } = await readLayerCoefficients(file, request.module);
  assert.deepEqual(inputs, [0, 1]);
  await view.send({ type: 'layerCoefficients', module: request.module, inputs, m });
  const detail = page.locator('.ziplora .layer-detail');
  await detail.locator('.scatter-slot canvas').waitFor();
  assert.match(await detail.locator('.scatter-slot .chart-title').innerText(), /^m_c vs m_s per column/);
  assert.match(await detail.locator('.facts').innerText(), /Content sparsity[\s\S]*Style sparsity[\s\S]*Zipped \/ both on \/ both off[\s\S]*Content error \(direct\)/);
  assert.deepEqual(await view.cspViolations(), []);
  assert.deepEqual(view.errors, []);
  await page.context().close();
});
