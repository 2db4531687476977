/** The Compare command's view: pairing facts, refused pairs, and the per-layer charts with 1,000 layers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ComparisonView } from '../../src/shared/webview-protocol.js';
import { countPixelsNear, useWebviewSession } from './harness.js';
import { THEMES } from './themes.js';

const session = useWebviewSession();

function comparison(layers: number): ComparisonView {
  const modules = Array.from({ length: layers }, (_, i) => `unet.${i < layers / 2 ? 'down' : 'up'}_blocks.${i % 4}.attentions.0.transformer_blocks.${i}.attn1.to_q`);
  return {
    first: { file: '/loras/subject.safetensors', format: 'kohya', baseModel: 'SDXL', layers: layers + 2 },
    second: { file: '/loras/style.safetensors', format: 'diffusers/PEFT', baseModel: 'SDXL', layers },
    paired: layers,
    onlyInFirst: ['text_encoder.text_model.encoder.layers.0.mlp.fc1', 'text_encoder.text_model.encoder.layers.0.mlp.fc2'],
    onlyInSecond: [],
    refused: [{ module: 'unet.conv_in', reason: 'ΔW shapes differ: 320×36 vs 320×4 (out×in)' }],
    layers: modules.map((module, i) => ({ module, meanAbsCosine: (i % 10) / 10, normFirst: 1 + (i % 7), normSecond: 2 + (i % 5), columnsCompared: 640 })),
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
