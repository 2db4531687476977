/**
 * The Compare command's view: pairing facts, refused pairs, and the per-layer charts with 1,000 layers; with three
 * files the per-block table of every pair and the pair picker that switches the charts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ComparisonView } from '../../src/shared/webview-protocol.js';
import { countPixelsNear, useWebviewSession } from './harness.js';
import { THEMES } from './themes.js';

const session = useWebviewSession();

const moduleNames = (layers: number) => Array.from({ length: layers }, (_, i) => `unet.${i < layers / 2 ? 'down' : 'up'}_blocks.${i % 4}.attentions.0.transformer_blocks.${i}.attn1.to_q`);

function comparison(layers: number): ComparisonView {
  const modules = moduleNames(layers);
  return {
    files: [
      { file: '/loras/subject.safetensors', format: 'kohya', baseModel: 'SDXL', layers: layers + 2 },
      { file: '/loras/style.safetensors', format: 'diffusers/PEFT', baseModel: 'SDXL', layers },
    ],
    pairs: [{
      a: 0,
      b: 1,
      paired: layers,
      onlyInFirst: ['text_encoder.text_model.encoder.layers.0.mlp.fc1', 'text_encoder.text_model.encoder.layers.0.mlp.fc2'],
      onlyInSecond: [],
      refused: [{ module: 'unet.conv_in', reason: 'ΔW shapes differ: 320×36 vs 320×4 (out×in)' }],
      layers: modules.map((module, i) => ({ module, meanAbsCosine: (i % 10) / 10, normFirst: 1 + (i % 7), normSecond: 2 + (i % 5), columnsCompared: 640 })),
    }],
    blocks: [],
  };
}

/** Three files; pair p has mean |cos| (p + 1) / 4 in every layer, so each pair's chart and table row differ. */
function threeWay(layers: number): ComparisonView {
  const modules = moduleNames(layers);
  const pairs = [[0, 1], [0, 2], [1, 2]].map(([a, b], p) => ({
    a,
    b,
    paired: layers - p,
    onlyInFirst: [],
    onlyInSecond: [],
    refused: [],
    layers: modules.slice(p).map((module) => ({ module, meanAbsCosine: (p + 1) / 4, normFirst: 1, normSecond: 2, columnsCompared: 640 })),
  }));
  const blocks = ['unet.down_blocks.0', 'unet.down_blocks.1', 'unet.up_blocks.0'].map((block) => ({ block, meanAbsCosine: [0.25, 0.5, 0.75] }));
  return {
    files: ['subject', 'style', 'detail'].map((name) => ({ file: `/loras/${name}.safetensors`, format: 'kohya', baseModel: 'SDXL', layers })),
    pairs,
    blocks,
  };
}

test('a comparison of 1,000 layers shows the pairing and draws both charts, without CSP violations', async () => {
  const view = await session.open('dark');
  await view.waitForPosted('ready');
  await view.send({ type: 'comparison', comparison: comparison(1000) });
  const page = view.page;
  await page.locator('.comparison').waitFor();
  assert.match(await page.locator('.file-title').innerText(), /subject\.safetensors ↔ style\.safetensors/);
  const facts = await page.locator('.comparison .facts').innerText();
  assert.match(facts, /Paired layers\s+1,000/);
  assert.match(facts, /Only in A\s+2/);
  assert.match(facts, /Refused\s+1/);
  assert.match(await page.locator('.comparison .name-list').first().innerText(), /Refused pairs \(shapes differ\) \(1\)/);
  const dark = THEMES.dark.variables;
  assert.ok((await countPixelsNear(page, '.comparison .layer-chart:nth-of-type(1) canvas', dark['--vscode-charts-purple'])) > 1000, 'the cosine bars are drawn');
  assert.ok((await countPixelsNear(page, '.comparison .layer-chart:nth-of-type(2) canvas', dark['--vscode-charts-orange'])) > 100, 'the second LoRA’s norms are drawn');
  assert.deepEqual(await view.cspViolations(), []);
  await view.screenshot('dark-comparison');
  await page.close();
});

test('three files: the per-block table of every pair, and the pair picker switches the charts', async () => {
  const view = await session.open('light');
  await view.waitForPosted('ready');
  await view.send({ type: 'comparison', comparison: threeWay(300) });
  const page = view.page;
  await page.locator('.comparison').waitFor();
  assert.equal(await page.locator('.file-title').innerText(), 'subject.safetensors ↔ style.safetensors ↔ detail.safetensors');
  const headings = await page.locator('.pair-table thead th').allInnerTexts();
  assert.deepEqual(headings, ['block', 'A·B', 'A·C', 'B·C']);
  assert.deepEqual(await page.locator('.pair-table tbody tr').first().locator('td').allInnerTexts(), ['0.25', '0.5', '0.75']);
  const picker = page.locator('.pair-picker vscode-button');
  assert.deepEqual(await picker.allInnerTexts(), ['A·B', 'A·C', 'B·C']);
  assert.equal(await picker.nth(0).getAttribute('aria-pressed'), 'true');
  assert.match(await page.locator('.pair-section .facts').innerText(), /Paired layers\s+300/);
  // By keyboard: Tab to the third pair's button, Enter.
  await picker.nth(2).focus();
  await page.keyboard.press('Enter');
  assert.equal(await picker.nth(2).getAttribute('aria-pressed'), 'true');
  assert.equal(await picker.nth(0).getAttribute('aria-pressed'), 'false');
  assert.match(await page.locator('.pair-section .facts').innerText(), /Paired layers\s+298[\s\S]*Only in B\s+0[\s\S]*Only in C\s+0/);
  assert.match(await page.locator('.pair-section .chart-title').first().innerText(), /Column cosine B·C/);
  const light = THEMES.light.variables;
  assert.ok((await countPixelsNear(page, '.pair-section .layer-chart:nth-of-type(1) canvas', light['--vscode-charts-purple'])) > 1000, 'the chosen pair\'s cosine bars are drawn');
  assert.deepEqual(await view.cspViolations(), []);
  assert.deepEqual(view.errors, []);
  await view.screenshot('light-comparison-3way');
  await page.close();
});
