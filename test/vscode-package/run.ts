/**
 * The linux-x64 .vsix installed in code-server: `code-server --install-extension` into a fresh extensions folder,
 * then test/vscode-package/suite.ts in its extension host through @vscode/test-electron and the code-server
 * launcher (as test/vscode/run.ts where VS Code cannot be downloaded). The package is built from dist/ unless
 * ZIPLORA_VSIX names one. installed-package.test.ts runs it once (npm test); `node --import tsx
 * test/vscode-package/run.ts --runs N` repeats it (a fresh code-server each) and prints the median activation time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';
import esbuild from 'esbuild';
import { packageTarget, shippedFiles } from '../../scripts/package';
import { CODE_SERVER_ENTRY } from '../../tools/code-server/server';

const ROOT = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(ROOT, 'tools', 'code-server', 'launcher.js');
const TARGET = 'linux-x64';

async function once(vsix: string, tests: string, scratch: string, run: number): Promise<number> {
  const extensionsDir = path.join(scratch, `extensions-${run}`);
  const home = path.join(scratch, `home-${run}`);
  mkdirSync(home);
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: home, XDG_DATA_HOME: home };
  execFileSync(process.execPath, [CODE_SERVER_ENTRY, '--install-extension', vsix, '--extensions-dir', extensionsDir], { env, stdio: 'pipe' });
  // The tests' own (empty) development extension: VS Code runs extension tests only beside one.
  const host = path.join(scratch, `host-${run}`);
  mkdirSync(host);
  writeFileSync(path.join(host, 'package.json'), JSON.stringify({ name: 'ziplora-package-test', publisher: 'test', version: '0.0.0', engines: { vscode: '^1.100.0' } }));
  const workspace = path.join(scratch, `workspace-${run}`);
  mkdirSync(workspace);
  let printed = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => ((printed += chunk.toString()), write(chunk, ...rest))) as typeof process.stdout.write;
  try {
    await runTests({
      vscodeExecutablePath: LAUNCHER,
      extensionDevelopmentPath: host,
      extensionTestsPath: tests,
      extensionTestsEnv: { ZIPLORA_PACKAGE_EXTENSIONS_DIR: extensionsDir },
      launchArgs: [workspace, '--extensions-dir', extensionsDir],
    });
  } finally {
    process.stdout.write = write;
  }
  const ms = /ZIPLORA_PACKAGE_ACTIVATION_MS=([\d.]+)/.exec(printed)?.[1];
  if (!ms) throw new Error('the installed extension reported no activation time');
  return Number(ms);
}

/** Installs and tests the package `runs` times; resolves with the activation times in ms, throws on a failure. */
export async function testInstalledPackage(runs: number): Promise<number[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ziplora-vscode-package-'));
  try {
    const vsix = process.env.ZIPLORA_VSIX ?? packageTarget(TARGET, scratch, shippedFiles());
    const tests = path.join(scratch, 'tests', 'index.js');
    await esbuild.build({ entryPoints: [path.join(__dirname, 'suite.ts')], outfile: tests, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', external: ['vscode'] });
    const times: number[] = [];
    for (let run = 0; run < runs; run++) times.push(await once(vsix, tests, scratch, run));
    return times;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runsIndex = process.argv.indexOf('--runs');
  const runs = runsIndex > 0 ? Number(process.argv[runsIndex + 1]) : 1;
  const times = await testInstalledPackage(runs);
  const median = [...times].sort((a, b) => a - b)[Math.floor(runs / 2)];
  console.log(`installed ${TARGET} package activated in code-server: ${times.map((t) => t.toFixed(0)).join(', ')} ms; median ${median.toFixed(0)} ms (load average ${os.loadavg()[0].toFixed(2)})`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`VS Code package test failed: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  });
}
