/**
 * The merge's compute threads: worker_threads of the merge worker, each with its own backend, that solve
 * batches in parallel while the main thread reads and writes. Inputs and outputs are handed over (transferred),
 * never copied. A thread that dies fails the merge with a clear message; close() stops every thread at once.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BACKEND_TRAITS, BackendName } from './backends';
import { BatchJob, jobBuffers, LayerOutput } from './layer-job';
import { FromThread, ThreadBackend, ToThread } from './thread-protocol';

export class ComputeThreadError extends Error {
  override name = 'ComputeThreadError';
}


/**
 * At most this many threads unless more are asked for: each holds its own engine (≈ 45–50 MiB while it works,
 * measured on the SDXL pair: 16 threads peak at 1.0–1.1 GB), and that merge must stay within 1.5 GB.
 */
export const AUTO_THREADS_LIMIT = 16;

/** `threads` as requested (0: one per core the process may use, up to AUTO_THREADS_LIMIT). */
export function threadCount(requested: number): number {
  return requested > 0 ? requested : Math.min(os.availableParallelism(), AUTO_THREADS_LIMIT);
}

/**
 * The thread's script: beside the bundle (dist/compute-thread.js), or the TypeScript source run through tsx. The
 * entry is a process of its own and lives with the worker (src/worker/compute-thread.ts); the pool names it only
 * by path, so the core still imports nothing above it.
 */
function defaultEntry(): string {
  const bundled = path.join(__dirname, 'compute-thread.js');
  return existsSync(bundled) ? bundled : path.join(__dirname, '../../worker/compute-thread.ts');
}

function spawn(entry: string): Worker {
  if (!entry.endsWith('.ts')) return new Worker(entry);
  // Source runs (tests, development): tsx's CommonJS hook, registered in the thread before the entry loads. Only
  // resolved here: a packaged extension has no tsx (and its bundle never takes this path).
  const hook = 'tsx/cjs'; // a variable, so that the bundle does not look for it
  return new Worker(`require(${JSON.stringify(require.resolve(hook))}); require(${JSON.stringify(entry)});`, { eval: true });
}

interface Pending {
  readonly job: BatchJob;
  readonly resolve: (outputs: LayerOutput[]) => void;
  readonly reject: (error: Error) => void;
}

class ComputeThread {
  busy?: { id: number; pending: Pending };

  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {}
}

export class ComputePool {
  private readonly threads: ComputeThread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;

  private constructor(readonly backend: ThreadBackend) {}

  /**
   * Starts one thread and its backend (`auto` is resolved there, once); then, for backends that gain from it,
   * `threads − 1` more with the backend the first one chose.
   */
  static async start(backend: BackendName, threads: number, entry = defaultEntry()): Promise<ComputePool> {
    const first = spawn(entry);
    let chosen: ThreadBackend;
    try {
      chosen = await startBackend(first, backend);
    } catch (error) {
      await first.terminate();
      throw error;
    }
    const pool = new ComputePool(chosen);
    pool.adopt(first);
    const more = BACKEND_TRAITS[chosen.name].enginePerThread ? Math.max(0, threads - 1) : 0;
    const started = await Promise.allSettled(
      Array.from({ length: more }, async () => {
        const worker = spawn(entry);
        try {
          await startBackend(worker, chosen.name);
        } catch (error) {
          await worker.terminate();
          throw error;
        }
        return worker;
      }),
    );
    for (const s of started) if (s.status === 'fulfilled') pool.adopt(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** Solves a batch on the next free thread; its input buffers are transferred (unusable here afterwards). */
  run(job: BatchJob): Promise<LayerOutput[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  /** Stops every thread now (mid-batch too); pending batches are rejected. */
  async close(): Promise<void> {
    this.closing = true;
    this.fail(new ComputeThreadError('the compute threads were stopped'));
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private adopt(worker: Worker): void {
    const thread = new ComputeThread(this.threads.length + 1, worker);
    this.threads.push(thread);
    worker.on('message', (message: FromThread) => this.onMessage(thread, message));
    worker.on('error', (error) => this.onDeath(thread, `failed: ${error instanceof Error ? error.message : String(error)}`));
    worker.on('exit', (code) => this.onDeath(thread, `stopped (exit code ${code})`));
    this.pump();
  }

  private pump(): void {
    for (const thread of this.threads) {
      if (thread.busy || this.queue.length === 0) continue;
      const pending = this.queue.shift()!;
      const id = this.nextId++;
      thread.busy = { id, pending };
      thread.worker.postMessage({ type: 'batch', id, job: pending.job } satisfies ToThread, jobBuffers(pending.job));
    }
  }

  private onMessage(thread: ComputeThread, message: FromThread): void {
    const busy = thread.busy;
    if (!busy || message.type === 'ready' || message.id !== busy.id) return;
    thread.busy = undefined;
    if (message.type === 'done') busy.pending.resolve(message.outputs as LayerOutput[]);
    else busy.pending.reject(new ComputeThreadError(message.message));
    this.pump();
  }

  private onDeath(thread: ComputeThread, how: string): void {
    if (this.closing) return;
    this.fail(new ComputeThreadError(`compute thread ${thread.index} of ${this.threads.length} ${how} during the merge; no output was written`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const thread of this.threads) {
      thread.busy?.pending.reject(this.failure);
      thread.busy = undefined;
    }
    for (const pending of this.queue.splice(0)) pending.reject(this.failure);
  }
}

/** Asks a new thread to start its backend; resolves with what it started, rejects with why it could not. */
function startBackend(worker: Worker, backend: BackendName): Promise<ThreadBackend> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromThread) => {
      if (message.type === 'ready') done(() => resolve(message.backend));
      else if (message.type === 'failed') done(() => reject(new ComputeThreadError(message.message)));
    };
    const onError = (error: Error) => done(() => reject(new ComputeThreadError(`a compute thread failed to start: ${error.message}`)));
    const onExit = (code: number) => done(() => reject(new ComputeThreadError(`a compute thread stopped while starting (exit code ${code})`)));
    const done = (settle: () => void) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      settle();
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage({ type: 'start', backend } satisfies ToThread);
  });
}
