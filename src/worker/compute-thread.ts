/**
 * A compute thread of the merge worker: its own tfjs engine and backend instance (tfjs keeps one engine per
 * JavaScript realm, and tfjs-wasm runs one WebAssembly thread), solving the batches it is sent, one at a time.
 */
import { parentPort } from 'node:worker_threads';
import { describeError } from '../core/safetensors/errors';
import { ComputeBackend, selectBackend } from '../core/merge/backends';
import { outputBuffers, runBatchJob } from '../core/merge/layer-job';
import { FromThread, ToThread } from '../core/merge/thread-protocol';

const port = parentPort!;
let backend: ComputeBackend | undefined;
const send = (message: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (message: ToThread) => {
  void (async () => {
    if (message.type === 'start') {
      try {
        backend = await selectBackend(message.backend);
        const { name, device, skipped, oneLayerPerBatch, maxBatchElements } = backend;
        send({ type: 'ready', backend: { name, device, skipped, oneLayerPerBatch, maxBatchElements } });
      } catch (error) {
        send({ type: 'failed', message: describeError(error) });
      }
      return;
    }
    try {
      const outputs = await runBatchJob(backend!, message.job);
      send({ type: 'done', id: message.id, outputs }, outputBuffers(outputs));
    } catch (error) {
      send({ type: 'failed', id: message.id, message: describeError(error) });
    }
  })();
});
