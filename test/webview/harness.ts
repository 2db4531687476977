/**
 * Runs the real webview bundle in headless Chromium (Debian's, via playwright-core; no browser is downloaded):
 * bundles webview/main.ts in memory with esbuild.js's options, serves it and the renderWebviewHtml page from
 * 127.0.0.1, stubs acquireVsCodeApi (recording posted messages, keeping state in sessionStorage so that it
 * survives a reload), applies a VS Code theme, and records CSP violations and page errors.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { HostToWebview, WebviewToHost } from '../../src/shared/webview-protocol.js';
import { renderWebviewHtml } from '../../src/shared/webview-html.js';
import { THEMES, type ThemeName } from './themes.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(process.cwd(), '.test-output', 'screenshots');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface WebviewServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Which browser bundle of esbuild.js: the editor's (webview/main.ts) or the merge panel's (webview/merge-panel-main.ts). */
export type BundleName = 'webview' | 'merge-panel';
const BUNDLE_ENTRIES: Readonly<Record<BundleName, string>> = { webview: 'webview/main.ts', 'merge-panel': 'webview/merge-panel-main.ts' };

/** dist/webview.js and dist/webview.css (or the merge panel's pair) as esbuild.js builds them, without touching dist/. */
export async function bundleWebview(bundleName: BundleName = 'webview'): Promise<{ js: string; css: string }> {
  const result = await esbuild.build({
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: [BUNDLE_ENTRIES[bundleName]],
    outfile: 'dist/webview.js',
    write: false,
    logLevel: 'silent',
  });
  const file = (suffix: string) => {
    const output = result.outputFiles.find((f) => f.path.endsWith(suffix));
    if (!output) throw new Error(`esbuild produced no ${suffix}`);
    return output.text;
  };
  return { js: file('webview.js'), css: file('webview.css') };
}

export async function startWebviewServer(bundleName: BundleName = 'webview'): Promise<WebviewServer> {
  const bundle = await bundleWebview(bundleName);
  let origin = '';
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', origin).pathname;
    if (path === '/webview.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.js);
    if (path === '/webview.css') return void response.writeHead(200, { 'content-type': 'text/css' }).end(bundle.css);
    if (path === '/') {
      const html = renderWebviewHtml({
        assets: { kind: 'linked', scriptUri: `${origin}/webview.js`, styleUri: `${origin}/webview.css`, cspSource: origin },
        nonce: randomBytes(16).toString('base64url'),
        title: 'subject_style_ziplora.safetensors',
      });
      return void response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    }
    response.writeHead(path === '/favicon.ico' ? 204 : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Launches Chromium or fails with what to do: the browser tests are required, never skipped. */
export async function launchChromium(): Promise<Browser> {
  const home = mkdtempSync(join(tmpdir(), 'webview-test-home-'));
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, HOME: home } });
    // The browser's own HOME goes with it, so test runs leave nothing in the temp folder.
    browser.on('disconnected', () => rmSync(home, { recursive: true, force: true }));
    return browser;
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw new Error(
      `Cannot launch Chromium at ${CHROMIUM} for the webview tests (install it with "apt-get install -y chromium", or set CHROMIUM_PATH): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

export interface WebviewPage {
  readonly page: Page;
  /** CSP violations seen by the page (securitypolicyviolation events and console reports). */
  cspViolations(): Promise<string[]>;
  /** Uncaught exceptions and console errors. */
  readonly errors: string[];
  posted(): Promise<WebviewToHost[]>;
  send(message: HostToWebview): Promise<void>;
  /** Waits until a posted message matches, and returns it. */
  waitForPosted<T extends WebviewToHost['type']>(type: T, predicate?: (m: Extract<WebviewToHost, { type: T }>) => boolean): Promise<Extract<WebviewToHost, { type: T }>>;
  clearPosted(): Promise<void>;
  screenshot(name: string): Promise<string>;
}

declare global {
  interface Window {
    __posted: unknown[];
    __cspViolations: string[];
  }
}

/**
 * The stub of VS Code's webview API and the theme, as source text: functions handed to Playwright would be
 * serialised after tsx's transform, which adds helper calls that do not exist in the page.
 */
function initScript(theme: ThemeName): string {
  const { bodyClass, variables } = THEMES[theme];
  return `
    window.__posted = [];
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' (' + e.sourceFile + ':' + e.lineNumber + ')');
    });
    let acquired = false;
    window.acquireVsCodeApi = () => {
      if (acquired) throw new Error('acquireVsCodeApi may be called only once');
      acquired = true;
      return {
        postMessage: (message) => window.__posted.push(JSON.parse(JSON.stringify(message))),
        getState: () => JSON.parse(sessionStorage.getItem('vscode-state') ?? 'null'),
        setState: (state) => { sessionStorage.setItem('vscode-state', JSON.stringify(state)); return state; },
      };
    };
    // As VS Code does: the variables on <html> (through the CSSOM), the theme kind as a body class; both
    // before the webview receives any message.
    document.addEventListener('DOMContentLoaded', () => {
      for (const [name, value] of Object.entries(${JSON.stringify(variables)})) document.documentElement.style.setProperty(name, value);
      document.body.classList.add(${JSON.stringify(bodyClass)});
    });
  `;
}

export async function openWebview(browser: Browser, server: WebviewServer, theme: ThemeName): Promise<WebviewPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const consoleCsp: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (/Content.Security.Policy/i.test(message.text())) consoleCsp.push(message.text());
    else errors.push(`console: ${message.text()}`);
  });
  await page.addInitScript(initScript(theme));
  await page.goto(`${server.origin}/`);
  const posted = () => page.evaluate(() => window.__posted as WebviewToHost[]);
  return {
    page,
    errors,
    cspViolations: async () => [...consoleCsp, ...(await page.evaluate(() => window.__cspViolations))],
    posted,
    send: async (message) => {
      await page.evaluate((m) => window.postMessage(m, '*'), message);
    },
    waitForPosted: async (type, predicate) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = (await posted()).find((m) => m.type === type && (!predicate || predicate(m as never)));
        if (found) return found as never;
        if (Date.now() > deadline) throw new Error(`no "${type}" message was posted; posted: ${JSON.stringify(await posted()).slice(0, 500)}`);
        await page.waitForTimeout(25);
      }
    },
    clearPosted: () => page.evaluate(() => void (window.__posted = [])),
    screenshot: async (name) => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: false });
      return path;
    },
  };
}

/** Pixels of the canvas within `tolerance` of a theme colour: proof that a series was drawn, not just axes. */
export async function countPixelsNear(page: Page, selector: string, color: string, tolerance = 40): Promise<number> {
  return page.locator(selector).evaluate(
    (canvas, { color, tolerance }) => {
      const c = canvas as HTMLCanvasElement;
      const ctx = c.getContext('2d');
      if (!ctx || c.width === 0 || c.height === 0) return 0;
      const target = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 128 && Math.abs(data[i] - target[0]) + Math.abs(data[i + 1] - target[1]) + Math.abs(data[i + 2] - target[2]) <= tolerance) n++;
      }
      return n;
    },
    { color, tolerance },
  );
}

/** Selects a tab by clicking its header. */
export async function openTab(page: Page, label: string): Promise<void> {
  await page.locator('vscode-tab-header', { hasText: label }).first().click();
  await page.locator(`vscode-tab-panel:not([hidden])`).first().waitFor();
}

/** Starts the page server and Chromium before a test file's tests, stops both after, and opens pages. */
export function useWebviewSession(bundleName: BundleName = 'webview'): { open(theme: ThemeName): Promise<WebviewPage> } {
  let browser: Browser | undefined;
  let server: WebviewServer | undefined;
  before(async () => {
    server = await startWebviewServer(bundleName);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  return { open: (theme) => openWebview(browser!, server!, theme) };
}
