/**
 * The webview renders every tab from recorded host messages, in the light and the dark theme, under the
 * strict CSP, with per-layer charts of 1,000 layers actually drawn (series pixels, not just axes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileView, LAYER_COUNT, loraLayers } from './fixtures.js';
import { countPixelsNear, openTab, useWebviewSession } from './harness.js';
import { THEMES, type ThemeName } from './themes.js';

const session = useWebviewSession();

for (const theme of ['dark', 'light'] as ThemeName[]) {
  describe(`webview in the ${theme} theme`, () => {
    it('posts ready, renders every tab and draws the 1,000-layer charts without a CSP violation', async () => {
      const view = await session.open(theme);
      const { page } = view;
      await view.waitForPosted('ready');
      await view.send({ type: 'file', view: fileView() });
      await view.send({ type: 'busy', what: 'Computing per-layer measures…' });

      // Overview
      await page.locator('.overview').waitFor();
      const overview = await page.locator('.overview').innerText();
      assert.match(overview, /LoRA, kohya \(SDXL\)/);
      assert.match(overview, /Stable Diffusion XL/);
      assert.match(overview, /a second text encoder/);
      assert.match(overview, /3,000/, 'tensor count');
      assert.equal(await page.locator('.busy').isVisible(), true, 'busy indicator shown');
      assert.equal(await page.locator('body').evaluate((b, name) => b.classList.contains(name), THEMES[theme].bodyClass), true);
      const background = await page.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
      assert.equal(background, theme === 'dark' ? 'rgb(31, 31, 31)' : 'rgb(255, 255, 255)', 'body uses --vscode-editor-background');
      await view.screenshot(`${theme}-overview`);

      // Metadata: JSON expanded, long values folded
      await openTab(page, 'Metadata');
      const metadata = page.locator('.metadata');
      await metadata.waitFor();
      assert.match(await metadata.innerText(), /"n_repeats": 10/, 'JSON in ss_dataset_dirs is pretty-printed');
      const tagFold = page.locator('details[data-key="ss_tag_frequency"]');
      assert.equal(await tagFold.count(), 1, 'ss_tag_frequency is folded');
      assert.equal(await tagFold.locator('pre').count(), 0, 'a folded value is not rendered until unfolded');
      await tagFold.locator('summary').click();
      assert.match(await tagFold.locator('pre').innerText(), /"tag_0": 400/);
      // ss_datasets holds JSON inside a JSON string: both levels are expanded.
      const datasets = page.locator('details[data-key="ss_datasets"]');
      await datasets.locator('summary').click();
      assert.match(await datasets.locator('pre').innerText(), /"image_dir": "subject"/);
      await view.screenshot(`${theme}-metadata`);

      // LoRA: spinner until loraLayers, then the chart and the table
      await openTab(page, 'LoRA');
      await page.locator('.lora .spinner').waitFor();
      await view.send({ type: 'loraLayers', layers: loraLayers() });
      await view.send({ type: 'busy', what: null });
      const loraCanvas = page.locator('.lora .layer-chart canvas');
      await loraCanvas.waitFor();
      assert.equal(await page.locator('.busy').isVisible(), false, 'busy indicator hidden');
      const blue = THEMES[theme].variables['--vscode-charts-blue'];
      assert.ok((await countPixelsNear(page, '.lora .layer-chart canvas', blue)) > 2000, 'the ‖ΔW‖ bars are drawn in --vscode-charts-blue');
      const rows = await page.locator('.lora-table .vt-body-row:not([hidden])').count();
      assert.ok(rows > 5 && rows < 100, `the layer table renders only visible rows (${rows} of ${LAYER_COUNT})`);
      await view.screenshot(`${theme}-lora`);

      // ZipLoRA: three per-layer charts with their series drawn
      await openTab(page, 'ZipLoRA');
      const zipCharts = page.locator('.ziplora .layer-chart canvas');
      await zipCharts.first().waitFor();
      assert.equal(await zipCharts.count(), 3);
      for (let i = 0; i < 3; i++) {
        const box = await zipCharts.nth(i).boundingBox();
        assert.ok(box && box.width > 600 && box.height > 150, `chart ${i} has a size (${JSON.stringify(box)})`);
        assert.ok((await countPixelsNear(page, `.ziplora .layer-chart:nth-of-type(${i + 1}) canvas`, i === 1 ? THEMES[theme].variables['--vscode-charts-green'] : blue)) > 300, `chart ${i} draws its series`);
      }
      assert.match(await page.locator('.ziplora .recipe').innerText(), /lambda\s*0\.01/);
      await view.screenshot(`${theme}-ziplora`);

      // Tensors
      await openTab(page, 'Tensors');
      await page.locator('.tensor-table .vt-body-row').first().waitFor();
      await view.screenshot(`${theme}-tensors`);

      assert.deepEqual(await view.cspViolations(), [], 'no CSP violation');
      assert.deepEqual(view.errors, [], 'no page error');
      await page.context().close();
    });
  });
}

describe('webview without LoRA data', () => {
  it('shows only the file tabs, and a clear error panel for fileError', async () => {
    const view = await session.open('dark');
    const { page } = view;
    await view.waitForPosted('ready');
    await view.send({ type: 'file', view: { ...fileView(), kind: 'a full SD checkpoint', lora: null, ziplora: null } });
    await page.locator('.overview').waitFor();
    const tabs = await page.locator('vscode-tab-header').allInnerTexts();
    assert.deepEqual(tabs.map((t) => t.replace(/\d|,/g, '').trim()), ['Overview', 'Metadata', 'Tensors']);
    assert.match(await page.locator('.overview').innerText(), /not a B·A LoRA/);
    assert.doesNotMatch(await page.locator('.overview').innerText(), /What to do/, 'no advice row for a file that is no adapter');

    const advice = 'load it as a Control LoRA beside the merged LoRA instead of merging it';
    await view.send({ type: 'file', view: { ...fileView(), kind: 'a Flux Control LoRA (…)', advice, lora: null, ziplora: null } });
    await page.locator('.overview', { hasText: 'What to do' }).waitFor();
    assert.match(await page.locator('.overview').innerText(), new RegExp(`What to do\\s+${advice}`));

    await view.send({ type: 'fileError', file: '/workspace/broken.safetensors', message: 'header length 9007199254740993 exceeds the file size (1,024 bytes)', hint: 'The file is truncated: download it again.' });
    const panel = page.locator('.error-panel[role="alert"]');
    await panel.waitFor();
    const text = await panel.innerText();
    assert.match(text, /\/workspace\/broken\.safetensors/);
    assert.match(text, /exceeds the file size/);
    assert.match(text, /download it again/);
    assert.equal(await page.locator('vscode-tabs').count(), 0, 'the tabs are replaced by the error');
    await view.screenshot('dark-file-error');
    assert.deepEqual(await view.cspViolations(), []);
    assert.deepEqual(view.errors, []);
    await page.context().close();
  });
});

describe('webview for one expert of a model made of experts', () => {
  it('shows the expert beside the family in the Overview, and what to merge it with', async () => {
    const view = await session.open('dark');
    const { page } = view;
    await view.waitForPosted('ready');
    const base = fileView();
    const baseModel = { family: 'wan', label: 'Wan 2.2 14B, high-noise expert', evidence: ['file name "A_high_noise" names the high-noise expert'], release: '2.2', expert: 'high-noise' };
    await view.send({ type: 'file', view: { ...base, lora: { ...base.lora!, baseModel } } });
    await page.locator('.overview .expert-note').waitFor();
    const badges = await page.locator('.overview .base-model vscode-badge').allInnerTexts();
    assert.deepEqual(badges.map((b) => b.trim()), ['wan', 'high-noise expert']);
    assert.match(await page.locator('.overview').innerText(), /For the high-noise expert only: merge it with LoRAs for the same expert/);
    assert.deepEqual(await view.cspViolations(), []);
    assert.deepEqual(view.errors, []);
    await page.context().close();
  });
});
