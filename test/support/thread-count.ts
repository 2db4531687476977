/**
 * Counts the worker_threads of this process that have not exited yet, by wrapping `Worker` in the module that
 * every importer reads it from (the compute pool starts its threads through `node:worker_threads`' export):
 * a test of a cancel or a failure checks that the count returns to 0. Import it before starting a merge.
 */
import workerThreads from 'node:worker_threads';

let live = 0;

class CountedWorker extends workerThreads.Worker {
  constructor(...args: ConstructorParameters<typeof workerThreads.Worker>) {
    super(...args);
    live++;
    this.once('exit', () => live--);
  }
}

workerThreads.Worker = CountedWorker;

/** Worker threads started since this module loaded that have not exited. */
export function liveThreads(): number {
  return live;
}
