/**
 * tfjs core and the backends this project ships, in one module so that they share one tfjs engine. esbuild.js
 * builds it alone as dist/tfjs.js (entry: src/worker/tfjs-bundle.ts) and the other bundles require that file when a
 * backend starts, so a process that never computes (a worker answering a header request, the CLI's inspect) does
 * not parse tfjs. Each part is required on first use: only the backend asked for is evaluated.
 */
import type * as TF from '@tensorflow/tfjs-core';

export function tfjsCore(): typeof TF {
  return require('@tensorflow/tfjs-core') as typeof TF;
}

/** Registers the plain JavaScript backend. */
export function loadCpuBackend(): void {
  require('@tensorflow/tfjs-backend-cpu');
}

/** Registers the WebAssembly backend; its .wasm files are found through setWasmPaths. */
export function loadWasmBackend(): { setWasmPaths(prefix: string): void } {
  return require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
}

/** Registers the WebGPU backend (navigator.gpu must be set first: backends.ts gives it Dawn's). */
export function loadWebgpuBackend(): void {
  require('@tensorflow/tfjs-backend-webgpu');
}
