/**
 * Screenshots of the ZipLoRA tab for the docs, from the webview bundle in headless Chromium (the browser tests'
 * harness, test/webview/harness.ts) — no VS Code needed, so they take seconds (`npm run screenshots:webview`):
 *   docs/images/ziplora-3way-{dark,light}.png   a three-input merge: inputs, sparsity per input, the pairs;
 *   docs/images/lambda-curve-{dark,light}.png   its λ trade-off (λ auto) with the chosen λ marked.
 * The merge is generated (test/support/sidecar-builder.ts: 1,000 SDXL layers, seeded), written as a format-2
 * sidecar to a temp folder and read back as the editor reads it, so the pictures show what a sidecar holds.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readZipLoraView } from '../src/core/view/file-view';
import type { FileView } from '../src/shared/webview-protocol';
import { tempDir } from '../test/support/build-safetensors';
import { buildSidecar, writeFormat2Sidecar } from '../test/support/sidecar-builder';
import { fileView, MODULES } from '../test/webview/fixtures';
import { launchChromium, openTab, openWebview, startWebviewServer } from '../test/webview/harness';
import type { ThemeName } from '../test/webview/themes';

const OUT_DIR = path.resolve(__dirname, '..', 'docs', 'images');

async function main(): Promise<void> {
  const dir = tempDir('ziplora-screenshots-');
  const built = buildSidecar({
    inputs: ['subject.safetensors', 'watercolor-style.safetensors', 'soft-light.safetensors'],
    modules: MODULES.map((m) => ({ module: m.module, columns: Math.min(m.in, 320) })),
    lambda: 'auto',
    weights: [1, 0.8, 0.6],
    seed: 23,
  });
  const sidecar = path.join(dir, 'subject_style_light.ziplora.safetensors');
  await writeFormat2Sidecar(sidecar, built, 'subject_style_light.safetensors');
  // Shown as a workspace's paths rather than the temp folder's.
  const ziplora = { ...(await readZipLoraView(sidecar)), sidecar: '/workspace/loras/subject_style_light.ziplora.safetensors', mergedFile: '/workspace/loras/subject_style_light.safetensors' };
  const base = fileView();
  const view: FileView = { ...base, summary: { ...base.summary, file: ziplora.mergedFile, metadata: {} }, kind: 'LoRA, kohya (SDXL)', lora: null, ziplora };

  mkdirSync(OUT_DIR, { recursive: true });
  const server = await startWebviewServer();
  const browser = await launchChromium();
  try {
    for (const theme of ['dark', 'light'] as ThemeName[]) {
      const page = await openWebview(browser, server, theme);
      await page.page.setViewportSize({ width: 1400, height: 2400 });
      await page.waitForPosted('ready');
      await page.send({ type: 'file', view });
      await openTab(page.page, 'ZipLoRA');
      await page.page.locator('.ziplora .layer-chart canvas').first().waitFor();
      await page.page.waitForTimeout(300);
      // The three-input tab from its top (inputs, recipe, λ) to the pairs' overlap; then the λ panel alone, its chosen point under the cursor.
      const overlap = (await page.page.locator('.ziplora .pair-overlap .layer-chart').boundingBox())!;
      await page.page.screenshot({ path: path.join(OUT_DIR, `ziplora-3way-${theme}.png`), clip: { x: 0, y: 0, width: 1400, height: overlap.y + overlap.height + 8 } });
      const lambda = page.page.locator('.ziplora .lambda-panel');
      await lambda.locator('canvas').focus();
      await page.page.keyboard.press('ArrowRight');
      await page.page.waitForTimeout(150);
      await lambda.screenshot({ path: path.join(OUT_DIR, `lambda-curve-${theme}.png`) });
      console.log(`wrote docs/images/ziplora-3way-${theme}.png and lambda-curve-${theme}.png`);
      if (page.errors.length) throw new Error(`the page reported errors: ${page.errors.join('; ')}`);
      await page.page.context().close();
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
