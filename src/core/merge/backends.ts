/**
 * Compute backends, all through the tfjs API. `auto` tries the fastest first and says what it chose:
 * tfjs-node-gpu (only with an NVIDIA GPU present), webgpu (only with a hardware adapter), tfjs-node,
 * wasm, cpu. Each package is required inside the function that starts its backend, so importing this module
 * costs nothing and a missing optional one is a reason in the report, not a crash. tfjs core and the shipped
 * backends come from ./tfjs-runtime (bundled as dist/tfjs.js, one engine they share: see esbuild.js); `webgpu`
 * (its Dawn .node binary) and the libtensorflow packages stay files in node_modules.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';

export const BACKEND_NAMES = ['auto', 'tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type ConcreteBackend = Exclude<BackendName, 'auto'>;

/** 8 Mi elements ≈ 32 MB per batched tensor on the CPU; 128 Mi ≈ 512 MB on a GPU with tens of GB. */
const CPU_BATCH_ELEMENTS = 8 << 20;
const GPU_BATCH_ELEMENTS = 128 << 20;

/** How a backend runs the solver; one table for the backends, the compute pool and the memory estimate. */
export interface BackendTraits {
  /** Solve one layer per batch (WebAssembly: batching does not pay on one thread), or batch equal shapes. */
  readonly oneLayerPerBatch: boolean;
  readonly maxBatchElements: number;
  /** One single-threaded engine per compute thread (so more threads help), or an engine with threads or a GPU of its own. */
  readonly enginePerThread: boolean;
}

export const BACKEND_TRAITS: Readonly<Record<ConcreteBackend, BackendTraits>> = {
  'tfjs-node-gpu': { oneLayerPerBatch: false, maxBatchElements: GPU_BATCH_ELEMENTS, enginePerThread: false },
  webgpu: { oneLayerPerBatch: false, maxBatchElements: GPU_BATCH_ELEMENTS, enginePerThread: false },
  'tfjs-node': { oneLayerPerBatch: false, maxBatchElements: CPU_BATCH_ELEMENTS, enginePerThread: false },
  wasm: { oneLayerPerBatch: true, maxBatchElements: CPU_BATCH_ELEMENTS, enginePerThread: true },
  cpu: { oneLayerPerBatch: false, maxBatchElements: CPU_BATCH_ELEMENTS, enginePerThread: true },
};

/** The batching part of a backend's traits, as a ComputeBackend carries it. */
function batchingOf(name: ConcreteBackend): Pick<BackendTraits, 'oneLayerPerBatch' | 'maxBatchElements'> {
  const { oneLayerPerBatch, maxBatchElements } = BACKEND_TRAITS[name];
  return { oneLayerPerBatch, maxBatchElements };
}

export interface ComputeBackend {
  readonly name: ConcreteBackend;
  /** Human-readable device, e.g. "CPU (WebAssembly SIMD)" or the GPU adapter's name. */
  readonly device: string;
  readonly tf: typeof TF;
  /**
   * Whether to solve one layer at a time: tfjs-wasm sends only un-batched, un-transposed products to
   * XNNPACK (≈15 GFLOP/s here) and runs batched ones ≈8× slower, and splitting a batch costs more still.
   */
  readonly oneLayerPerBatch: boolean;
  /** Bound on batch × R × max(in, out) per batch: large on GPUs, where fewer, larger batches pay off. */
  readonly maxBatchElements: number;
  /** Why faster backends were passed over (for `auto`). */
  readonly skipped: readonly string[];
}

/** The little of the WebGPU API that backend selection needs (the `webgpu` package provides the rest). */
interface GpuAdapterLike {
  readonly info: { vendor: string; architecture: string; device: string; description: string };
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}

/** Required on first use: in a bundle this is dist/tfjs.js, parsed only by a process that starts a backend. */
function runtime(): typeof import('./tfjs-runtime') {
  return require('./tfjs-runtime') as typeof import('./tfjs-runtime');
}

function tfCore(): typeof TF {
  return runtime().tfjsCore();
}

/**
 * tfjs-node and tfjs-node-gpu are never bundled (libtensorflow is downloaded by their install script): they are
 * loaded from node_modules where the user installed them, with their own tfjs engine, which they export whole.
 * The name is not a literal, so esbuild leaves this require to run time.
 */
function loadInstalled(name: string): typeof TF {
  return require(name) as typeof TF;
}

function hasNvidiaGpu(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/gpus');
}

/**
 * The CUDA libraries libtensorflow 2.9 (tfjs-node-gpu 4.x) opens at start: CUDA 11.2's and cuDNN 8. Without
 * them it only logs "Skipping registering GPU devices" and computes on the CPU, so they are looked for first.
 */
export const TFJS_NODE_GPU_LIBRARIES = ['libcudart.so.11.0', 'libcublas.so.11', 'libcublasLt.so.11', 'libcufft.so.10', 'libcurand.so.10', 'libcusolver.so.11', 'libcusparse.so.11', 'libcudnn.so.8'];

/** Tries to load a shared library by name; undefined when it loads, else the loader's reason. */
export type LibraryLoader = (library: string) => string | undefined;

/** The system's loader, through process.dlopen: a library that loads is not a Node addon, and says so. */
const dlopenLibrary: LibraryLoader = (library) => {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, library);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return /self-register|napi_register|Module did not/i.test(message) ? undefined : message.split('\n')[0];
  }
};

/** Why tfjs-node-gpu cannot use the GPU here (its CUDA libraries do not load), or undefined. Linux names only. */
export function cudaLibrariesProblem(loadLibrary: LibraryLoader = dlopenLibrary, platform: string = process.platform): string | undefined {
  if (platform !== 'linux') return undefined;
  const missing = TFJS_NODE_GPU_LIBRARIES.filter((library) => loadLibrary(library) !== undefined);
  if (missing.length === 0) return undefined;
  return `its CUDA libraries do not load (libtensorflow 2.9 needs CUDA 11.2 and cuDNN 8; missing ${missing.join(', ')})`;
}

/** What backend selection looks at on this machine; tests pass their own. */
export interface BackendProbes {
  readonly hasNvidiaGpu: () => boolean;
  readonly loadLibrary: LibraryLoader;
}

const SYSTEM_PROBES: BackendProbes = { hasNvidiaGpu, loadLibrary: dlopenLibrary };

/** Where the tfjs wasm binaries are: beside the bundle (dist/, where esbuild.js copies them), else in the package. */
function wasmDirectory(): string {
  const candidates = [__dirname, path.join(__dirname, '..'), wasmPackageDirectory()].filter((dir): dir is string => dir !== undefined);
  const found = candidates.find((dir) => existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm')));
  if (!found) throw new Error('the tfjs WebAssembly binaries (tfjs-backend-wasm-simd.wasm) were not found');
  return found + path.sep;
}

/** The wasm package's dist/ when running from sources (tests, tsx); the packaged extension has no such folder. */
function wasmPackageDirectory(): string | undefined {
  try {
    return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

async function activate(tf: typeof TF, name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs could not initialise its "${name}" backend`);
  await tf.ready();
}

async function tryBackend(name: ConcreteBackend, allowSoftwareGpu: boolean, probes: BackendProbes): Promise<Omit<ComputeBackend, 'skipped'>> {
  switch (name) {
    case 'cpu': {
      const tf = tfCore();
      runtime().loadCpuBackend();
      await activate(tf, 'cpu');
      return { name, device: 'CPU (JavaScript)', tf, ...batchingOf(name) };
    }
    case 'wasm': {
      const tf = tfCore();
      const wasm = runtime().loadWasmBackend();
      wasm.setWasmPaths(wasmDirectory());
      await activate(tf, 'wasm');
      return { name, device: 'CPU (WebAssembly SIMD)', tf, ...batchingOf(name) };
    }
    case 'tfjs-node':
    case 'tfjs-node-gpu': {
      const gpu = name === 'tfjs-node-gpu';
      if (gpu && !probes.hasNvidiaGpu()) throw new Error('no NVIDIA GPU found');
      const cuda = gpu ? cudaLibrariesProblem(probes.loadLibrary) : undefined;
      if (cuda) throw new Error(cuda);
      const tf = loadInstalled(`@tensorflow/${name}`);
      await activate(tf, 'tensorflow');
      // libtensorflow falls back to the CPU when the GPU cannot be used, and only logs it.
      if (gpu && (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === false) {
        throw new Error('libtensorflow registered no GPU device (it needs CUDA 11.2 and cuDNN 8 matching the driver)');
      }
      return { name, device: gpu ? 'NVIDIA GPU (CUDA, libtensorflow)' : 'CPU (libtensorflow)', tf, ...batchingOf(name) };
    }
    case 'webgpu': {
      const dawn = require('webgpu') as { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
      Object.assign(globalThis, dawn.globals);
      // Dawn options (e.g. "backend=vulkan;adapter=NVIDIA H100") for machines with several adapters.
      const gpu = dawn.create((process.env.ZIPLORA_WEBGPU_FLAGS ?? '').split(';').filter(Boolean));
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw new Error('no WebGPU adapter (no Vulkan/Metal/D3D12 driver found)');
      const info = adapter.info;
      const software = /swiftshader|llvmpipe|lavapipe|software/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`) || adapter.isFallbackAdapter === true;
      if (software && !allowSoftwareGpu) throw new Error(`only a software adapter (${info.description || info.vendor})`);
      if (!('navigator' in globalThis) || !(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
        Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      }
      const tf = tfCore();
      runtime().loadWebgpuBackend();
      await activate(tf, 'webgpu');
      const device = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ');
      return { name, device: `GPU (WebGPU: ${device || 'unknown adapter'}${software ? ', software' : ''})`, tf, ...batchingOf(name) };
    }
  }
}


const AUTO_ORDER: ConcreteBackend[] = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];

/** Initialises the requested backend; `auto` falls through the list and records why each was skipped. */
export async function selectBackend(requested: BackendName, probes: BackendProbes = SYSTEM_PROBES): Promise<ComputeBackend> {
  if (requested !== 'auto') {
    try {
      return { ...(await tryBackend(requested, true, probes)), skipped: [] };
    } catch (error) {
      throw new Error(`backend "${requested}" is not available: ${shortReason(error)}`);
    }
  }
  const skipped: string[] = [];
  for (const name of AUTO_ORDER) {
    try {
      return { ...(await tryBackend(name, false, probes)), skipped };
    } catch (error) {
      skipped.push(`${name}: ${shortReason(error)}`);
    }
  }
  throw new Error(`no compute backend could be started (${skipped.join('; ')})`);
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/Cannot find module/.test(message)) return 'not installed';
  return message.split('\n')[0];
}
