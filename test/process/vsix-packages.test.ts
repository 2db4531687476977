/**
 * The platform packages of `npm run package` (scripts/package.ts), built from dist/ into a temporary folder:
 * each target's .vsix holds its own Dawn build and no other native file, the universal one none; every package
 * is under 100 files apart from the native ones, is ready for the Marketplace and Open VSX (manifest fields,
 * icon, README images as absolute https URLs), and the linux-x64 and universal packages, unpacked with no
 * node_modules beside them, merge on wasm and find (or miss) WebGPU from their own dist/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ALL_TARGETS, packageTarget, shippedFiles, UNIVERSAL } from '../../scripts/package';
import { PLATFORM_PACKAGES } from '../../src/core/platform-packages';
import { tempDir } from '../support/build-safetensors';
import { writePair } from '../support/merge-fixtures';
import { PROJECT_ROOT } from '../support/run-cli';
import { extractVsix, readVsix } from '../support/vsix';

const NATIVE = /\.(node|dll|so(\.\d+)*|dylib|exe)$/i;
const WEBGPU_IN_PACKAGE = 'extension/dist/node_modules/webgpu/';
const root = tempDir('vsix-packages-');

/** `vsce ls` of the checkout: what every package holds. */
const listed = shippedFiles();

/** The packages, built once for all the tests below (about 5 s a target on the 2-core development machine). */
const built = (async () => {
  assert.ok(existsSync(path.join(PROJECT_ROOT, 'dist', 'worker.js')), 'dist/ is missing: run `node esbuild.js` first');
  const packages = new Map<string, Map<string, Buffer>>();
  for (const target of ALL_TARGETS) packages.set(target, await readVsix(packageTarget(target, root, listed)));
  return packages;
})();

test('`vsce ls` lists the bundles, their wasm files and the manifest\'s files, and no node_modules, maps or sources', () => {
  assert.deepEqual(listed.filter((f) => f.includes('node_modules') || /\.(map|ts)$/.test(f) || f.includes('gpu-check')), []);
  for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'images/icon.png', 'dist/extension.js', 'dist/worker.js', 'dist/compute-thread.js', 'dist/cli.js', 'dist/tfjs.js', 'dist/webview.js', 'dist/merge-panel.js', 'dist/tfjs-backend-wasm-simd.wasm']) {
    assert.ok(listed.includes(file), file);
  }
});

test('each platform package holds exactly its own Dawn build as native code; the universal package holds none', { timeout: 300_000 }, async () => {
  const packages = await built;
  for (const p of PLATFORM_PACKAGES) {
    const names = [...packages.get(p.target)!.keys()];
    const dawn = readdirSync(path.join(PROJECT_ROOT, 'node_modules', 'webgpu', 'dist', p.dawnFolder)).map((f) => `${WEBGPU_IN_PACKAGE}dist/${p.dawnFolder}/${f}`);
    assert.deepEqual(names.filter((n) => n.startsWith(`${WEBGPU_IN_PACKAGE}dist/`)).sort(), dawn.sort(), `${p.target}: the webgpu builds inside`);
    assert.deepEqual(names.filter((n) => NATIVE.test(n)).sort(), dawn.filter((n) => NATIVE.test(n)).sort(), `${p.target}: its native files`);
    assert.ok(names.includes(`${WEBGPU_IN_PACKAGE}dist/${p.dawnFolder}/dawn.node`), p.target);
  }
  const universal = [...packages.get(UNIVERSAL)!.keys()];
  assert.deepEqual(universal.filter((n) => NATIVE.test(n) || n.startsWith(WEBGPU_IN_PACKAGE)), [], 'universal: no native code');
});

test('every package is under 100 files besides native ones, names its target, and carries the bundles and wasm files', async () => {
  for (const [target, files] of await built) {
    const names = [...files.keys()];
    const count = names.filter((n) => !NATIVE.test(n)).length;
    assert.ok(count < 100, `${target}: ${count} files`);
    assert.deepEqual(names.filter((n) => n.includes('/node_modules/') && !n.startsWith(WEBGPU_IN_PACKAGE)), [], `${target}: no other node_modules`);
    assert.deepEqual(names.filter((n) => /\.(map|ts)$/.test(n) || n.includes('gpu-check')), [], `${target}: no maps, sources or device check`);
    for (const file of ['extension.js', 'worker.js', 'compute-thread.js', 'cli.js', 'tfjs.js', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm']) assert.ok(files.has(`extension/dist/${file}`), `${target}: dist/${file}`);
    const manifest = files.get('extension.vsixmanifest')!.toString('utf8');
    const platform = /TargetPlatform="([^"]+)"/.exec(manifest)?.[1];
    assert.equal(platform, target === UNIVERSAL ? undefined : target, `${target}: TargetPlatform in the manifest`);
  }
});

test('the packages are ready for the Marketplace and Open VSX: manifest fields, icon, absolute README images', async () => {
  const files = (await built).get(UNIVERSAL)!;
  const manifest = JSON.parse(files.get('extension/package.json')!.toString('utf8')) as Record<string, unknown>;
  for (const field of ['name', 'displayName', 'description', 'version', 'publisher', 'license', 'icon', 'repository', 'engines', 'categories', 'keywords', 'galleryBanner']) {
    assert.ok(manifest[field] !== undefined, `package.json: ${field}`);
  }
  // Open VSX: a lower-case name and publisher of letters, digits and hyphens, a SemVer version, a licence file.
  assert.match(String(manifest.name), /^[a-z0-9][a-z0-9-]*$/);
  assert.match(String(manifest.publisher), /^[a-z0-9][a-z0-9-]*$/);
  assert.match(String(manifest.version), /^\d+\.\d+\.\d+(-[\w.]+)?$/);
  assert.ok(files.has('extension/LICENSE.txt'), 'the licence');
  assert.match((manifest.repository as { url: string }).url, /^https:\/\//);
  const icon = files.get(`extension/${manifest.icon}`);
  assert.ok(icon, 'the icon is in the package');
  assert.equal(icon.subarray(1, 4).toString('latin1'), 'PNG');
  assert.ok(icon.readUInt32BE(16) >= 128 && icon.readUInt32BE(20) >= 128, 'the icon is at least 128×128');
  const readme = files.get('extension/readme.md')!.toString('utf8');
  const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g), ...readme.matchAll(/<img[^>]+src="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(images.length > 0, 'the README has images');
  assert.deepEqual(images.filter((url) => !url.startsWith('https://')), [], 'README images with relative or http links');
});

test('the linux-x64 and universal packages, unpacked alone, merge on wasm and load WebGPU from their own dist/ (or say it is not installed)', { timeout: 300_000 }, async () => {
  const packages = await built;
  const { content, style } = await writePair(root);
  for (const target of ['linux-x64', UNIVERSAL]) {
    if (target !== UNIVERSAL && `${process.platform}-${process.arch}` !== target) continue;
    const extension = extractVsix(packages.get(target)!, path.join(root, `unpacked-${target}`));
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(extension, 'dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const merged = cli('merge', content, style, '-o', path.join(root, `${target}.safetensors`), '--backend', 'wasm');
    assert.equal(merged.status, 0, `${target}: ${merged.stderr}`);
    assert.match(merged.stdout, /wasm/, `${target}: the summary names the backend`);
    const webgpu = cli('merge', content, style, '-o', path.join(root, `${target}-gpu.safetensors`), '--backend', 'webgpu');
    if (target === UNIVERSAL) assert.match(webgpu.stderr, /backend "webgpu" is not available: not installed/, webgpu.stderr);
    // Dawn loaded from the package: this machine either has an adapter (the merge runs) or says it has none.
    else assert.ok(webgpu.status === 0 || /no WebGPU adapter|software adapter/.test(webgpu.stderr), `${target}: ${webgpu.stderr}`);
  }
});
