/** A compute thread that starts like the real one and then dies on its first batch (exit code 3). */
import { parentPort } from 'node:worker_threads';
import { FromThread, ToThread } from '../../src/core/merge/thread-protocol';

parentPort!.on('message', (message: ToThread) => {
  if (message.type === 'start') {
    const ready: FromThread = { type: 'ready', backend: { name: 'cpu', device: 'test thread', skipped: [], oneLayerPerBatch: true, maxBatchElements: 1 } };
    parentPort!.postMessage(ready);
  } else {
    process.exit(3);
  }
});
