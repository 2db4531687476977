#!/usr/bin/env node
/**
 * A stand-in for the VS Code executable, for @vscode/test-electron's `runTests({ vscodeExecutablePath })` where
 * no VS Code/Electron build can be downloaded: it takes the same arguments, starts code-server 4.100.3 (VS Code
 * 1.100.3, Node extension host), opens the test payload URL in headless Debian Chromium (playwright-core) and
 * exits with the code the extension tests report through `codeAutomationExit` (mocha: 0 passed, 1 failed).
 *
 * Accepted: --extensionDevelopmentPath=P, --extensionTestsPath=P (both also as two words), --user-data-dir,
 * --extensions-dir, a folder to open (the first plain argument); other flags of VS Code (--disable-extensions,
 * --no-sandbox, --skip-welcome …) are accepted and ignored: code-server loads no extensions but built-ins.
 * Env: ZIPLORA_VSCODE_TEST_TIMEOUT_MS (default 300000), CHROMIUM_PATH (default /usr/bin/chromium).
 */
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { format } = require('node:util');

// server.ts is TypeScript; tsx (a devDependency of the repository root) loads it.
require('tsx/cjs/api').register();
const { startCodeServer } = require('./server.ts');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT_MS = Number(process.env.ZIPLORA_VSCODE_TEST_TIMEOUT_MS || 300_000);
// code-server's own console messages, not the tests': its offline gallery, service workers, connection setup.
const NOISE = /vsda|Failed to load resource|allow-scripts and allow-same-origin|same-origin iframe|open-vsx\.org|service worker|Resolv(ing|ed) connection token|Creating a socket|builtin extensions cache|ChatSessionStore|copilot-instructions/i;
const VALUE_FLAGS = new Set(['--extensionDevelopmentPath', '--extensionTestsPath', '--user-data-dir', '--extensions-dir', '--locale', '--log']);

function parseArgs(argv) {
  const options = { extensionDevelopmentPath: [], folders: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let [flag, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (!flag.startsWith('--')) {
      options.folders.push(path.resolve(arg));
      continue;
    }
    if (value === undefined && VALUE_FLAGS.has(flag)) value = argv[++i];
    if (flag === '--extensionDevelopmentPath') options.extensionDevelopmentPath.push(path.resolve(value));
    else if (flag === '--extensionTestsPath') options.extensionTestsPath = path.resolve(value);
    else if (flag === '--user-data-dir') options.userDataDir = path.resolve(value);
    else if (flag === '--extensions-dir') options.extensionsDir = path.resolve(value);
  }
  return options;
}

const log = (text) => console.log(`[launcher] ${text}`);

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!options.extensionTestsPath || options.extensionDevelopmentPath.length === 0) {
    console.error('launcher: --extensionDevelopmentPath and --extensionTestsPath are required');
    return 2;
  }
  // The test payload's module path: code-server loads it in the extension host like VS Code's --extensionTestsPath.
  const testsModule = options.extensionTestsPath.endsWith('.js') ? options.extensionTestsPath : path.join(options.extensionTestsPath, 'index.js');
  const folder = options.folders[0] ?? mkdtempSync(path.join(os.tmpdir(), 'ziplora-launcher-ws-'));
  const started = Date.now();
  const server = await startCodeServer({ userDataDir: options.userDataDir, extensionsDir: options.extensionsDir, settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
  log(`code-server ${server.url} (VS Code 1.100.3), workspace ${folder}`);
  const browserHome = mkdtempSync(path.join(os.tmpdir(), 'ziplora-launcher-home-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, HOME: browserHome } });
  let timer;
  try {
    const page = await browser.newPage();
    // The extension host's console (mocha's reporter) is forwarded to the workbench page in development mode,
    // as console.log('%c INFO', css, format, ...args): print it as the host wrote it, in order.
    let printing = Promise.resolve();
    let finished = false;
    page.on('console', (message) => {
      printing = printing.then(async () => {
        if (finished) return; // the workbench's shutdown noise after the tests reported
        const args = await Promise.all(message.args().map((a) => a.jsonValue().catch(() => String(a))));
        if (typeof args[0] === 'string' && args[0].startsWith('%c')) args.splice(0, 2);
        const text = args.length ? format(...args) : message.text();
        if (NOISE.test(text)) return;
        console.log(message.type() === 'error' ? `[browser error] ${text}` : text);
      });
    });
    page.on('pageerror', (error) => console.log(`[browser pageerror] ${error.message}`));
    const exitCode = new Promise((resolve) => {
      page.exposeFunction('codeAutomationExit', async (code) => {
        await printing;
        finished = true;
        resolve(Number(code));
      }).catch((error) => resolve(`exposeFunction failed: ${error.message}`));
      timer = setTimeout(() => resolve('timeout'), TIMEOUT_MS);
    });
    const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
    const payload = [
      ...options.extensionDevelopmentPath.map((p) => ['extensionDevelopmentPath', remote(p)]),
      ['extensionTestsPath', remote(testsModule)],
    ];
    await page.goto(server.folderUrl(folder, payload));
    const code = await exitCode;
    reportHostErrors(server);
    if (typeof code !== 'number') {
      console.error(code === 'timeout' ? `launcher: the extension tests did not finish within ${TIMEOUT_MS / 1000} s (ZIPLORA_VSCODE_TEST_TIMEOUT_MS)` : `launcher: ${code}`);
      return 1;
    }
    log(`extension tests exited with ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return code;
  } finally {
    clearTimeout(timer);
    await browser.close().catch(() => undefined);
    await server.stop();
    rmSync(browserHome, { recursive: true, force: true });
  }
}

/** Prints the extension host's error lines from code-server's logs (activation failures land there). */
function reportHostErrors(server) {
  const lines = server.readLogs()
    .filter(({ file }) => /exthost|remoteexthost/i.test(file))
    .flatMap(({ file, text }) => text.split('\n').filter((l) => /\[error\]/.test(l) && !/ms-vscode\.js-debug|github\./i.test(l)).map((l) => `${path.basename(file)}: ${l}`));
  if (lines.length) console.log(`[launcher] extension host errors:\n  ${lines.join('\n  ')}`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`launcher: ${error instanceof Error ? error.stack : error}`);
    process.exit(1);
  },
);
