/**
 * README screenshots from the running extension in a real VS Code (`npm run screenshots`):
 * code-server 4.100.3 (VS Code 1.100.3, tools/code-server) with the packaged linux-x64 .vsix installed,
 * driven by Debian's Chromium through playwright-core. Writes docs/screenshots/*.png.
 *
 * Data is generated into a temp workspace (nothing is copied into the repository):
 *   - the real diffusers LoRA from ../shared/fixtures/real (skipped with a message when ../shared is absent);
 *   - a sparse SDXL UNet checkpoint (real names and shapes, 5 GB, no disk) from ../shared/fixtures/shapes;
 *   - a planted content/style pair merged with `node dist/cli.js merge` (merged LoRA + .ziplora sidecar);
 *   - a Flux.1-dev pair (kohya rank 4, fused; diffusers rank 4, split) with the real names and shapes of
 *     test/fixtures/flux1-dev-*.layout.json and seeded random weights, merged the same way (30 ZipLoRA steps);
 *   - for the merge panel, three SD1.5 LoRAs in panel/: the two real ones of ../shared/fixtures/real (diffusers'
 *     Pokémon LoRA, catundchat's) and the planted pair's content LoRA, opened with ZipLoRA: Open Merge Panel…
 *     (written to docs/images, beside the other N-way views' pictures).
 *
 * Options: --skip-package (reuse packages/ziplora-vscode-linux-x64.vsix), --keep (keep the temp folders and print them),
 * --only NAME[,NAME] (lora, tensors, ziplora, ziplora-layer, ziplora-light, flux-lora, flux-ziplora, merge-panel,
 * merge-panel-light).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { readShapeDump, writeSparseCheckpoint } from '../bench/support';
import { layersFromLayout, randomLayerValues, seededRandom, writeLora } from '../test/support/lora-generators';
import { writePlantedPair } from '../test/support/planted';
import { startCodeServer, isCodeServerInstalled, type CodeServer } from '../tools/code-server/server';

const ROOT = path.resolve(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'docs', 'screenshots');
const VSIX = path.join(ROOT, 'packages', 'ziplora-vscode-linux-x64.vsix');
const REAL_LORA = path.resolve(ROOT, '../shared/fixtures/real/huggingface-diffusers__sd-pokemon-model-lora__pytorch_lora_weights.safetensors');
/** A second real SD1.5 LoRA (old diffusers attention-processor names), for the merge panel's three inputs. */
const REAL_LORA_2 = path.resolve(ROOT, '../shared/fixtures/real/catundchat-stable-diffusion-v1.5-lora__pytorch_lora_weights.safetensors');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1600, height: 1000 };
const DARK = 'Default Dark Modern';
const LIGHT = 'Default Light Modern';

const argv = process.argv.slice(2);
const keep = argv.includes('--keep');
const skipPackage = argv.includes('--skip-package');
const onlyIndex = argv.indexOf('--only');
const only = onlyIndex >= 0 ? new Set(argv[onlyIndex + 1].split(',')) : undefined;
const wanted = (name: string): boolean => !only || only.has(name);

const started = Date.now();
function log(message: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

interface Shot {
  name: string;
  /** The file to open and the tab to show, or `open` for a view that is not an editor (the merge panel). */
  file?: string;
  tab?: string;
  open?: (page: Page) => Promise<Frame>;
  /** Where the PNG goes when not docs/screenshots (the N-way views' pictures are in docs/images). */
  outDir?: string;
  /** Runs in the webview's content frame after the tab is shown (select a row, a layer …). */
  prepare?: (frame: Frame, page: Page) => Promise<void>;
}

interface Workspace {
  lora?: string;
  checkpoint?: string;
  merged?: string;
  sidecar?: string;
  fluxLora?: string;
  fluxSidecar?: string;
  /** The merge panel's three inputs, in panel/. */
  panelInputs?: string[];
}

/** A kohya Flux LoRA (fused qkv / linear1) and its ZipLoRA merge with a diffusers one (split q/k/v), in `dir`. */
async function prepareFlux(dir: string, files: Workspace): Promise<void> {
  files.fluxLora = path.join(dir, 'flux_subject_kohya.safetensors');
  const style = path.join(dir, 'flux_style_diffusers.safetensors');
  const random = seededRandom(77);
  await writeLora(files.fluxLora, layersFromLayout('flux1-dev-transformer.layout.json', 4), (l) => randomLayerValues(l, random, 4), {
    scheme: 'kohya', family: 'flux', dtype: 'BF16', metadata: { ss_base_model_version: 'flux1', ss_network_dim: '4', ss_network_alpha: '4' },
  });
  await writeLora(style, layersFromLayout('flux1-dev-diffusers-transformer.layout.json', 4), (l) => randomLayerValues(l, random), { scheme: 'peft', family: 'flux', dtype: 'BF16' });
  const merged = path.join(dir, 'flux_subject_style_ziplora.safetensors');
  const t = Date.now();
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'merge', files.fluxLora, style, '-o', merged], { stdio: 'ignore' });
  files.fluxSidecar = merged.replace(/\.safetensors$/, '.ziplora.safetensors');
  log(`merged the Flux pair in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

async function prepareWorkspace(dir: string): Promise<Workspace> {
  const files: Workspace = {};
  if (existsSync(REAL_LORA)) {
    files.lora = path.join(dir, 'pokemon_lora.safetensors');
    copyFileSync(REAL_LORA, files.lora);
  } else {
    console.warn(`SKIP the LoRA screenshot: ${REAL_LORA} is absent (the ../shared fixtures are not checked out here)`);
  }
  const shapes = readShapeDump('sdxl_base_unet.invokeai_dump.json');
  if (shapes) {
    files.checkpoint = path.join(dir, 'sdxl_base_unet.safetensors');
    const bytes = writeSparseCheckpoint(files.checkpoint, shapes);
    log(`sparse SDXL UNet: ${shapes.length} tensors, ${(bytes / 1e9).toFixed(2)} GB (no disk used)`);
  } else {
    console.warn('SKIP the tensor-table screenshot: ../shared/fixtures/shapes/sdxl_base_unet.invokeai_dump.json is absent');
  }
  const pairDir = mkdtempSync(path.join(os.tmpdir(), 'ziplora-shots-pair-'));
  try {
    const { content, style } = await writePlantedPair(pairDir);
    if (files.lora && existsSync(REAL_LORA_2) && (wanted('merge-panel') || wanted('merge-panel-light'))) {
      const panelDir = path.join(dir, 'panel');
      mkdirSync(panelDir);
      files.panelInputs = [path.join(panelDir, 'pokemon_lora.safetensors'), path.join(panelDir, 'catundchat_lora.safetensors'), path.join(panelDir, 'planted_subject.safetensors')];
      copyFileSync(REAL_LORA, files.panelInputs[0]);
      copyFileSync(REAL_LORA_2, files.panelInputs[1]);
      copyFileSync(content, files.panelInputs[2]);
    }
    files.merged = path.join(dir, 'subject_style_ziplora.safetensors');
    const t = Date.now();
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'merge', content, style, '-o', files.merged], { stdio: 'ignore' });
    files.sidecar = files.merged.replace(/\.safetensors$/, '.ziplora.safetensors');
    if (!existsSync(files.sidecar)) throw new Error(`the merge wrote no sidecar at ${files.sidecar}`);
    log(`merged the planted pair in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(pairDir, { recursive: true, force: true });
  }
  if (wanted('flux-lora') || wanted('flux-ziplora')) await prepareFlux(dir, files);
  return files;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The webview's content frame (VS Code nests it: workbench → webview host iframe → active-frame). */
async function editorFrame(page: Page): Promise<Frame> {
  return waitFor('the extension webview', async () => {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue;
      const ok = await frame.evaluate(() => !!document.querySelector('vscode-tab-header')).catch(() => false);
      if (ok) return frame;
    }
    return undefined;
  });
}

async function dismissNotifications(page: Page): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const toast = page.locator('.notifications-toasts .notification-toast');
    if ((await toast.count()) === 0) break;
    await page.keyboard.press('Escape');
    const clear = page.locator('.notifications-toasts .codicon-notifications-clear, .notifications-toasts .codicon-close').first();
    if (await clear.isVisible().catch(() => false)) await clear.click().catch(() => undefined);
    await page.waitForTimeout(200);
  }
}

async function openFile(page: Page, file: string): Promise<Frame> {
  // Close whatever is open, then Quick Open the file by name.
  await page.keyboard.press('Escape');
  await page.locator('.monaco-workbench').click({ position: { x: 800, y: 990 } }).catch(() => undefined);
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(path.basename(file));
  await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(file) }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: path.basename(file) }).waitFor();
  const frame = await editorFrame(page);
  return frame;
}

/**
 * ZipLoRA: Open Merge Panel… with `files` ticked in its picker (filtered to their folder, then "toggle all"), and
 * the panel's frame once the inputs' overlap per block is shown.
 */
async function openMergePanel(page: Page, files: readonly string[]): Promise<Frame> {
  // The workbench lists a remote extension's commands only once its extensions are scanned: retry until it does.
  const input = page.locator('.quick-input-widget input');
  await waitFor('the command in the palette', async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+Shift+P');
    await input.waitFor({ state: 'visible' });
    await input.fill('>ZipLoRA: Open Merge Panel');
    const found = await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Merge Panel' }).first().waitFor({ timeout: 3000 }).then(() => true, () => undefined);
    return found;
  });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'LoRAs to merge' }).waitFor();
  await input.fill(path.basename(path.dirname(files[0])));
  await waitFor('the picker to list the three LoRAs', async () => ((await page.locator('.quick-input-list .monaco-list-row').count()) === files.length + 1 ? true : undefined));
  for (const file of files) await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(file) }).locator('input[type="checkbox"], .monaco-checkbox').first().click();
  await page.keyboard.press('Enter');
  return waitFor(
    'the merge panel with the overlap per block',
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        const ok = await frame.evaluate(() => !!document.querySelector('.merge-blocks')).catch(() => false);
        if (ok) return frame;
      }
      return undefined;
    },
    120_000,
  );
}

/** Sets what a person would before merging: λ auto, input 3 out of the middle block, the text encoders skipped. */
async function editMergePanel(frame: Frame, page: Page): Promise<void> {
  await frame.locator('[data-focus="weight-1"]').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0.8');
  await frame.locator('[data-focus="lambda-auto"]').click();
  const midWeight = frame.locator('[data-focus="block-weight-unet.mid_block-2"]');
  if (await midWeight.count()) {
    await midWeight.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('0');
  }
  await frame.locator('.merge-panel').click({ position: { x: 5, y: 5 } });
  await page.mouse.move(800, 12);
}

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' });
}

/** Scrolls the webview so that `selector` is at the top of the editor. */
async function scrollToTop(frame: Frame, selector: string): Promise<void> {
  await frame.locator(selector).first().evaluate((element) => element.scrollIntoView({ block: 'start' }));
}

/** Clicks a layer chart at a fraction of its plot width (Chart.js picks the nearest layer on x). */
async function clickChart(frame: Frame, selector: string, xFraction: number): Promise<void> {
  const canvas = frame.locator(selector).first();
  await canvas.waitFor();
  const box = (await canvas.boundingBox())!;
  await canvas.click({ position: { x: box.width * xFraction, y: box.height * 0.6 } });
}

async function showTab(frame: Frame, label: string): Promise<void> {
  await frame.locator('vscode-tab-header', { hasText: label }).first().click();
  await frame.locator('vscode-tab-panel:not([hidden])').first().waitFor();
}

async function takeShots(browser: Browser, server: CodeServer, workspace: string, shots: Shot[], theme: string, consoleErrors: string[]): Promise<string[]> {
  const written: string[] = [];
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: theme === LIGHT ? 'light' : 'dark' });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleErrors.push(`[${theme}] ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`[${theme}] pageerror: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) consoleErrors.push(`[${theme}] HTTP ${response.status()} ${response.url()}`);
  });
  await page.goto(server.folderUrl(workspace));
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 }).catch(() => undefined);
  await page.waitForTimeout(1500);
  await dismissNotifications(page);
  await runCommand(page, 'View: Close Primary Side Bar');
  for (const shot of shots) {
    const t = Date.now();
    const frame = shot.open ? await shot.open(page) : await openFile(page, shot.file!);
    if (shot.tab) await showTab(frame, shot.tab);
    if (shot.prepare) await shot.prepare(frame, page);
    // Let charts finish drawing (animations are off; fonts and resize observers settle).
    await page.waitForTimeout(1200);
    await dismissNotifications(page);
    const out = path.join(shot.outDir ?? OUT_DIR, `${shot.name}.png`);
    await page.screenshot({ path: out });
    written.push(out);
    log(`${path.relative(ROOT, out)} (${(statSync(out).size / 1024).toFixed(0)} KB, ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  await context.close();
  return written;
}

async function main(): Promise<void> {
  if (!isCodeServerInstalled()) throw new Error('code-server is not installed: run bash tools/code-server/install.sh (about 1 minute, 300 MB)');
  if (!skipPackage || !existsSync(VSIX)) {
    log('npm run package');
    execFileSync('npm', ['run', 'package', '--', '--targets', 'linux-x64'], { cwd: ROOT, stdio: 'ignore' });
  }
  mkdirSync(OUT_DIR, { recursive: true });
  // A stable folder name: it shows in the window title.
  const workspaceParent = mkdtempSync(path.join(os.tmpdir(), 'ziplora-shots-ws-'));
  const workspace = path.join(workspaceParent, 'models');
  mkdirSync(workspace);
  const files = await prepareWorkspace(workspace);
  log(`workspace ${workspace}`);

  const dark: Shot[] = [];
  if (files.lora && wanted('lora')) {
    dark.push({
      name: 'lora-layers',
      file: files.lora,
      tab: 'LoRA',
      // Filter the layer table to up_blocks.1 and select a row: its bar is highlighted in the chart and the
      // detail shows its numbers and singular values.
      prepare: async (frame, page) => {
        await frame.locator('.lora vscode-textfield input').first().fill('up_blocks.1.attentions.1');
        await frame.locator('.lora .filter-count', { hasText: /^\d+ of/ }).first().waitFor();
        await frame.locator('.lora-table .vt-body-row').nth(4).click();
        await frame.locator('.lora .layer-detail canvas').waitFor();
        await page.mouse.move(800, 12);
      },
    });
  }
  if (files.checkpoint && wanted('tensors')) {
    dark.push({
      name: 'tensor-table',
      file: files.checkpoint,
      tab: 'Tensors',
      // Largest tensors first (Size sorted descending).
      prepare: async (frame, page) => {
        const size = frame.locator('.tensor-table .vt-sort', { hasText: 'Size' });
        const descending = frame.locator('.tensor-table [aria-sort="descending"]');
        for (let i = 0; i < 3 && (await descending.count()) === 0; i++) {
          await size.click();
          await frame.waitForTimeout(100);
        }
        await descending.waitFor();
        await page.mouse.move(800, 12);
      },
    });
  }
  const charts = async (frame: Frame): Promise<void> => {
    await frame.locator('.ziplora .layer-chart canvas').first().waitFor();
    await scrollToTop(frame, '.ziplora .charts');
  };
  const layer = async (frame: Frame): Promise<void> => {
    await clickChart(frame, '.ziplora .layer-chart canvas', 0.62);
    await frame.locator('.ziplora .layer-detail .scatter-slot canvas').waitFor();
    await scrollToTop(frame, '.ziplora .layer-detail');
  };
  if (files.sidecar && wanted('ziplora')) dark.push({ name: 'ziplora-charts', file: files.sidecar, tab: 'ZipLoRA', prepare: charts });
  if (files.sidecar && wanted('ziplora-layer')) dark.push({ name: 'ziplora-layer', file: files.sidecar, tab: 'ZipLoRA', prepare: layer });
  if (files.fluxLora && wanted('flux-lora')) {
    // The LoRA tab's layer chart of a kohya Flux LoRA: double- and single-stream blocks shaded and labelled.
    dark.push({ name: 'flux-lora-layers', file: files.fluxLora, tab: 'LoRA', prepare: async (frame, page) => { await frame.locator('.lora .layer-chart canvas').first().waitFor(); await page.mouse.move(800, 12); } });
  }
  if (files.fluxSidecar && wanted('flux-ziplora')) dark.push({ name: 'flux-ziplora-charts', file: files.fluxSidecar, tab: 'ZipLoRA', prepare: charts });
  const light: Shot[] = files.sidecar && wanted('ziplora-light') ? [{ name: 'ziplora-charts-light', file: files.sidecar, tab: 'ZipLoRA', prepare: charts }] : [];
  const panelInputs = files.panelInputs;
  if (panelInputs) {
    const panel = (name: string): Shot => ({ name, open: (page) => openMergePanel(page, panelInputs), prepare: editMergePanel, outDir: path.join(ROOT, 'docs', 'images') });
    if (wanted('merge-panel')) dark.push(panel('merge-panel'));
    if (wanted('merge-panel-light')) light.push(panel('merge-panel-light'));
  }

  const browserHome = mkdtempSync(path.join(os.tmpdir(), 'ziplora-shots-home-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, HOME: browserHome } });
  const consoleErrors: string[] = [];
  const servers: CodeServer[] = [];
  try {
    for (const [shots, theme] of [[dark, DARK], [light, LIGHT]] as const) {
      if (shots.length === 0) continue;
      const server = await startCodeServer({ settings: { 'workbench.colorTheme': theme, 'window.commandCenter': false }, keep });
      servers.push(server);
      log(`code-server ${server.url} (${theme}), user data ${server.userDataDir}`);
      await server.installExtension(VSIX);
      log(`installed ${path.basename(VSIX)}`);
      await takeShots(browser, server, workspace, shots, theme, consoleErrors);
      const problems = server.readLogs().flatMap(({ file, text }) =>
        text.split('\n').filter((l) => /\[error\]|ziplora/i.test(l) && !/ms-vscode\.js-debug|github\./i.test(l)).map((l) => `${path.relative(server.userDataDir, file)}: ${l}`),
      );
      if (problems.length) console.log(`code-server log lines mentioning errors or ziplora:\n  ${problems.join('\n  ')}`);
      await server.stop();
    }
  } finally {
    await browser.close();
    for (const server of servers) await server.stop();
    rmSync(browserHome, { recursive: true, force: true });
    if (keep) console.log(`kept ${workspace}`);
    else rmSync(workspaceParent, { recursive: true, force: true });
  }
  // code-server's own noise: the proprietary vsda module is not shipped, webviews are same-origin iframes
  // on http, and the page is closed while connected.
  const known = /vsda|allow-scripts and allow-same-origin|same-origin iframe|Long running operations during shutdown|Failed to load resource/;
  const unexpected = consoleErrors.filter((line) => !known.test(line) || /ziplora/i.test(line));
  console.log(`browser console: ${consoleErrors.length - unexpected.length} known code-server messages (vsda 404s, iframe sandbox warnings) ignored`);
  if (unexpected.length) console.log(`browser console errors/warnings:\n  ${unexpected.join('\n  ')}`);
  log('done');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error);
  process.exit(1);
});
