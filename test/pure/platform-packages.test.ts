/** The platform packages' table against the webgpu package's builds and the README, and the GPU package advice. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gpuPackageAdvice, PLATFORM_PACKAGES, platformPackageOf } from '../../src/core/platform-packages';

const ROOT = path.resolve(__dirname, '../..');

test('every platform package names a Dawn build the webgpu package ships, and every build has a package', () => {
  const builds = readdirSync(path.join(ROOT, 'node_modules', 'webgpu', 'dist')).sort();
  assert.deepEqual([...new Set(PLATFORM_PACKAGES.map((p) => p.dawnFolder))].sort(), builds);
  for (const p of PLATFORM_PACKAGES) assert.ok(readdirSync(path.join(ROOT, 'node_modules', 'webgpu', 'dist', p.dawnFolder)).includes('dawn.node'), p.target);
});

test("the README's platform table has one row per package with its GPU API, and the universal package", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const p of PLATFORM_PACKAGES) assert.match(readme, new RegExp(`^\\| \`${p.target}\` \\|.*\\b${p.gpuApi}\\b.*\\|$`, 'm'), p.target);
  assert.match(readme, /^\| universal \|/m);
  assert.match(readme, /^## Platforms and GPUs$/m, 'the heading PLATFORMS_DOC_URL links to');
});

test('a merge that fell back to the CPU because this installation has no WebGPU build gets advice naming the right package', () => {
  const universal = { backend: 'wasm', skipped: ['tfjs-node-gpu: no NVIDIA GPU found', 'webgpu: not installed', 'tfjs-node: not installed'] };
  const windows = gpuPackageAdvice(universal, 'win32', 'x64');
  assert.equal(windows?.package?.target, 'win32-x64');
  assert.equal(
    windows?.message,
    "This ZipLoRA merge ran on the CPU (wasm): this installation has no WebGPU build for win32-x64, so a GPU here goes unused. Install ZipLoRA's win32-x64 package (D3D12) from the Marketplace or Open VSX, or open a Linux GPU machine over Remote-SSH.",
  );
  assert.equal(gpuPackageAdvice(universal, 'darwin', 'arm64')?.package?.gpuApi, 'Metal');
  const other = gpuPackageAdvice(universal, 'linux', 'ppc64');
  assert.equal(other?.package, undefined);
  assert.match(other?.message ?? '', /No ZipLoRA package has a WebGPU build for linux-ppc64: to merge on a GPU, open .* over Remote-SSH\.$/);
});

test('no advice where no package would change anything', () => {
  assert.equal(gpuPackageAdvice({ backend: 'webgpu', skipped: ['tfjs-node-gpu: not installed'] }, 'linux', 'x64'), undefined, 'on the GPU');
  assert.equal(gpuPackageAdvice({ backend: 'wasm', skipped: ['webgpu: no WebGPU adapter (no Vulkan/Metal/D3D12 driver found)'] }, 'linux', 'x64'), undefined, 'Dawn loaded, no adapter');
  assert.equal(gpuPackageAdvice({ backend: 'wasm', skipped: ['webgpu: only a software adapter (SwiftShader)'] }, 'win32', 'x64'), undefined, 'software adapter only');
  assert.equal(gpuPackageAdvice({ backend: 'cpu', skipped: [] }, 'win32', 'x64'), undefined, 'a backend chosen by name');
  assert.equal(platformPackageOf('linux', 'arm64')?.dawnFolder, 'linux-arm64');
  assert.equal(platformPackageOf('darwin', 'x64')?.dawnFolder, 'darwin-universal');
});
