/**
 * The extension's platform packages: one .vsix per VS Code target, each with only its own Dawn (WebGPU) binary,
 * and a universal one with WebAssembly only. One table for the packaging script, its test, the README's platform
 * table and the notice that a merge fell back to the CPU where the right package would offer the GPU.
 */

export interface PlatformPackage {
  /** The target as VS Code, vsce and Open VSX name it (`process.platform`-`process.arch`). */
  readonly target: string;
  /** The folder under the `webgpu` package's dist/ that holds this target's Dawn build. */
  readonly dawnFolder: string;
  /** The GPU API Dawn uses on this platform. */
  readonly gpuApi: 'D3D12' | 'Metal' | 'Vulkan';
}

/** webgpu 0.6 ships one macOS build for both architectures (darwin-universal) and none for other targets. */
export const PLATFORM_PACKAGES: readonly PlatformPackage[] = [
  { target: 'win32-x64', dawnFolder: 'win32-x64', gpuApi: 'D3D12' },
  { target: 'win32-arm64', dawnFolder: 'win32-arm64', gpuApi: 'D3D12' },
  { target: 'darwin-arm64', dawnFolder: 'darwin-universal', gpuApi: 'Metal' },
  { target: 'darwin-x64', dawnFolder: 'darwin-universal', gpuApi: 'Metal' },
  { target: 'linux-x64', dawnFolder: 'linux-x64', gpuApi: 'Vulkan' },
  { target: 'linux-arm64', dawnFolder: 'linux-arm64', gpuApi: 'Vulkan' },
];

/** Where the README explains which package a platform gets. */
export const PLATFORMS_DOC_URL = 'https://github.com/ziplora/ziplora-vscode#platforms-and-gpus';

export function platformPackageOf(platform: string, arch: string): PlatformPackage | undefined {
  return PLATFORM_PACKAGES.find((p) => p.target === `${platform}-${arch}`);
}

/** The little of a merge's summary the rule reads: the backend used and why `auto` passed faster ones over. */
export interface BackendOutcome {
  readonly backend: string;
  readonly skipped: readonly string[];
}

export interface GpuPackageAdvice {
  /** The platform package that has a WebGPU build for this machine, when one exists. */
  readonly package: PlatformPackage | undefined;
  readonly message: string;
}

/**
 * Advice when a merge ran on the CPU only because this installation has no WebGPU build: `auto` tried webgpu and
 * found it not installed (the universal package, or a package without this platform's Dawn binary). When webgpu
 * loaded but found no adapter, or the backend was chosen by name, no package would change anything: no advice.
 */
export function gpuPackageAdvice(outcome: BackendOutcome, platform: string, arch: string): GpuPackageAdvice | undefined {
  if (outcome.backend === 'webgpu' || outcome.backend === 'tfjs-node-gpu') return undefined;
  if (!outcome.skipped.includes('webgpu: not installed')) return undefined;
  const target = `${platform}-${arch}`;
  const found = platformPackageOf(platform, arch);
  const ran = `This ZipLoRA merge ran on the CPU (${outcome.backend}): this installation has no WebGPU build for ${target}, so a GPU here goes unused.`;
  const message = found
    ? `${ran} Install ZipLoRA's ${target} package (${found.gpuApi}) from the Marketplace or Open VSX, or open a Linux GPU machine over Remote-SSH.`
    : `${ran} No ZipLoRA package has a WebGPU build for ${target}: to merge on a GPU, open a Windows, macOS or Linux (x64, arm64) machine over Remote-SSH.`;
  return { package: found, message };
}
