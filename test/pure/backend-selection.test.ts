/** Backend selection: tfjs-node-gpu is passed over, with the reason, when the CUDA libraries it needs do not load. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cudaLibrariesProblem, selectBackend, TFJS_NODE_GPU_LIBRARIES } from '../../src/core/merge/backends';

/** A machine with an NVIDIA GPU whose loader finds every library but those named. */
const machineWithout = (...missing: string[]) => ({
  hasNvidiaGpu: () => true,
  loadLibrary: (library: string) => (missing.includes(library) ? `${library}: cannot open shared object file: No such file or directory` : undefined),
});

test('the CUDA check names every library that does not load, and what libtensorflow 2.9 needs', () => {
  assert.equal(
    cudaLibrariesProblem(machineWithout('libcudnn.so.8', 'libcusolver.so.11').loadLibrary, 'linux'),
    'its CUDA libraries do not load (libtensorflow 2.9 needs CUDA 11.2 and cuDNN 8; missing libcusolver.so.11, libcudnn.so.8)',
  );
  assert.equal(cudaLibrariesProblem(machineWithout().loadLibrary, 'linux'), undefined, 'all of them load');
  assert.equal(cudaLibrariesProblem(machineWithout(...TFJS_NODE_GPU_LIBRARIES).loadLibrary, 'win32'), undefined, 'Linux names only');
});

test('auto skips tfjs-node-gpu with that reason before loading it; asking for it by name says why it is not available', async () => {
  const tried: string[] = [];
  const probes = { ...machineWithout('libcudnn.so.8'), loadLibrary: (library: string) => (tried.push(library), machineWithout('libcudnn.so.8').loadLibrary(library)) };
  const chosen = await selectBackend('auto', probes);
  assert.equal(chosen.skipped[0], 'tfjs-node-gpu: its CUDA libraries do not load (libtensorflow 2.9 needs CUDA 11.2 and cuDNN 8; missing libcudnn.so.8)');
  assert.deepEqual(tried, TFJS_NODE_GPU_LIBRARIES);
  await assert.rejects(selectBackend('tfjs-node-gpu', probes), /^Error: backend "tfjs-node-gpu" is not available: its CUDA libraries do not load \(libtensorflow 2\.9 needs CUDA 11\.2 and cuDNN 8; missing libcudnn\.so\.8\)$/);
  // With every library there, the package itself is what is missing on this machine.
  const complete = await selectBackend('auto', machineWithout());
  assert.equal(complete.skipped[0], 'tfjs-node-gpu: not installed');
});
