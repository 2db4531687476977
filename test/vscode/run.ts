/**
 * Runs the extension tests (test/vscode/suite, bundled by test/vscode/build.js into out/vscode-tests) in a real
 * VS Code through @vscode/test-electron's runTests. Where a VS Code build can be downloaded (ZIPLORA_VSCODE_DOWNLOAD=1,
 * or unset with the update server answering and a display present) test-electron downloads one; otherwise the same
 * call gets tools/code-server/launcher.js as its executable: code-server's VS Code 1.100.3 in headless Chromium.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(ROOT, 'tools', 'code-server', 'launcher.js');

/** Whether to let test-electron download VS Code (it needs the network and, on Linux, a display). */
async function canDownloadVSCode(): Promise<boolean> {
  const setting = process.env.ZIPLORA_VSCODE_DOWNLOAD;
  if (setting === '1') return true;
  if (setting === '0') return false;
  if (process.platform === 'linux' && !process.env.DISPLAY) return false;
  try {
    const response = await fetch('https://update.code.visualstudio.com/api/releases/stable', { signal: AbortSignal.timeout(3000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const download = await canDownloadVSCode();
  console.log(download ? 'VS Code tests: downloading VS Code (@vscode/test-electron)' : 'VS Code tests: no VS Code download here; code-server 4.100.3 (VS Code 1.100.3) in headless Chromium');
  // The tests generate their LoRAs into this folder (the opened workspace).
  const parent = mkdtempSync(path.join(os.tmpdir(), 'ziplora-vscode-tests-'));
  const workspace = path.join(parent, 'workspace');
  mkdirSync(workspace);
  const started = Date.now();
  try {
    await runTests({
      ...(download ? { version: '1.100.3' } : { vscodeExecutablePath: LAUNCHER }),
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, 'out', 'vscode-tests', 'index.js'),
      launchArgs: [workspace, '--disable-extensions'],
    });
    console.log(`VS Code tests passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`VS Code tests failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
