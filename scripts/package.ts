/**
 * `npm run package`: one .vsix per VS Code target (vsce package --target), each with only its own Dawn (WebGPU)
 * binary, and a universal .vsix without native code (WebAssembly only) for every other target.
 *
 * Each package is assembled in a staging folder of its own — the files `vsce ls` lists for the checkout (the root
 * .vscodeignore: the bundles of dist/ with tfjs inside, the wasm files, manifest, README, CHANGELOG, LICENSE, icon,
 * schema, grammar) and, for a platform target, the `webgpu` package with that target's build only, as
 * dist/node_modules/webgpu (where `require('webgpu')` from dist/*.js finds it) — and packed there with
 * `vsce package --no-dependencies`: nothing in the checkout or its node_modules is changed.
 *
 *   node --import tsx scripts/package.ts [--targets linux-x64,universal] [--out DIR] [--no-build]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PLATFORM_PACKAGES } from '../src/core/platform-packages';

const ROOT = path.resolve(__dirname, '..');
const VSCE = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const WEBGPU = path.join(ROOT, 'node_modules', 'webgpu');
export const UNIVERSAL = 'universal';
export const ALL_TARGETS = [...PLATFORM_PACKAGES.map((p) => p.target), UNIVERSAL];

/** Of the webgpu package: its loader and licence; its build for the target is added beside them. */
const WEBGPU_FILES = ['package.json', 'index.js', 'LICENSE.md'];

/** What every package holds: `vsce ls` of the checkout, as the root .vscodeignore selects (no node_modules). */
export function shippedFiles(): string[] {
  const listed = execFileSync(process.execPath, [VSCE, 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return listed.split('\n').map((line) => line.trim()).filter(Boolean);
}

export function vsixName(target: string): string {
  return `ziplora-vscode-${target}.vsix`;
}

function stage(target: string, files: readonly string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ziplora-package-${target}-`));
  for (const file of files) cpSync(path.join(ROOT, file), path.join(dir, file));
  const platform = PLATFORM_PACKAGES.find((p) => p.target === target);
  if (platform) {
    const webgpu = path.join(dir, 'dist', 'node_modules', 'webgpu');
    for (const file of WEBGPU_FILES) cpSync(path.join(WEBGPU, file), path.join(webgpu, file), { recursive: true });
    cpSync(path.join(WEBGPU, 'dist', platform.dawnFolder), path.join(webgpu, 'dist', platform.dawnFolder), { recursive: true });
  }
  // The folder holds exactly what ships; vsce reads this file (and would warn without one).
  writeFileSync(path.join(dir, '.vscodeignore'), '# The staging folder of scripts/package.ts holds only what ships.\n');
  return dir;
}

/** Packs one target into OUT/ziplora-vscode-TARGET.vsix from `files` (shippedFiles()) and returns its path. */
export function packageTarget(target: string, outDir: string, files: readonly string[]): string {
  if (!ALL_TARGETS.includes(target)) throw new Error(`package: unknown target "${target}" (one of ${ALL_TARGETS.join(', ')})`);
  const dir = stage(target, files);
  const out = path.join(outDir, vsixName(target));
  try {
    const targetArgs = target === UNIVERSAL ? [] : ['--target', target];
    execFileSync(process.execPath, [VSCE, 'package', '--no-dependencies', ...targetArgs, '--out', out], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`package: vsce could not pack ${target}: ${stderr || (error as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
}

function main(): void {
  const targets = option('--targets')?.split(',') ?? ALL_TARGETS;
  const outDir = path.resolve(option('--out') ?? path.join(ROOT, 'packages'));
  if (!process.argv.includes('--no-build')) execFileSync(process.execPath, ['esbuild.js', '--production'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(outDir, { recursive: true });
  const files = shippedFiles();
  for (const target of targets) {
    const started = Date.now();
    const file = packageTarget(target, outDir, files);
    console.log(`${path.relative(ROOT, file)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
