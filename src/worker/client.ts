/**
 * Runs a merge in the worker child process and turns its messages into callbacks and a promise. Cancel asks
 * the worker to stop (it removes its temporary files); a worker that does not stop in time, or that dies,
 * is killed and its partial files are removed here.
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { MergeCallbacks } from '../core/merge/merge-callbacks';
import { claimedFiles, claimMergeOutput } from '../core/merge/merge-claim';
import { MergeRequest, MergeSummary } from '../core/merge/request';
import { OutputClaim } from '../core/output-claim';
import { partialWriterPid } from '../core/temporary-files';
import { isFromWorker, ToWorker, WorkerTask, WorkerTaskResults } from './protocol';

export class MergeCancelledError extends Error {
  constructor() {
    super('the merge was cancelled; no output was written');
    this.name = 'MergeCancelledError';
  }
}

export interface RunningMerge {
  readonly result: Promise<MergeSummary>;
  cancel(): void;
  readonly pid: number | undefined;
}

const CANCEL_GRACE_MS = 5000;

/** dist/worker.js beside the bundle, or the TypeScript source (run through tsx) in development and tests. */
export function workerEntry(): { file: string; execArgv: string[] } {
  const bundled = path.join(__dirname, 'worker.js');
  if (existsSync(bundled)) return { file: bundled, execArgv: [] };
  const source = path.join(__dirname, 'main.ts');
  if (existsSync(source)) return { file: source, execArgv: ['--import', 'tsx'] };
  throw new Error(`the merge worker was not found beside ${__dirname}; run \`npm run build\``);
}

/**
 * Removes what a worker that died without finishing may have left: its own temporary files (named with its pid),
 * and outputs that did not exist when this merge claimed them (under the claim, no other merge wrote them).
 */
async function removeLeftovers(request: MergeRequest, workerPid: number | undefined, existedBefore: Set<string>): Promise<void> {
  for (const target of claimedFiles(request)) {
    const folder = path.dirname(path.resolve(target));
    const prefix = `.${path.basename(target)}.`;
    const entries = await fs.readdir(folder).catch(() => [] as string[]);
    const ours = entries.filter((e) => e.startsWith(prefix) && partialWriterPid(e) === workerPid);
    await Promise.all(ours.map((e) => fs.rm(path.join(folder, e), { force: true })));
    if (!existedBefore.has(target)) await fs.rm(target, { force: true });
  }
}

/** A merge refused before it started (its output is claimed by another): no worker, the reason as its result. */
function refusedMerge(error: unknown): RunningMerge {
  const result = Promise.reject(error instanceof Error ? error : new Error(String(error)));
  // Handled by whoever awaits it; not an unhandled rejection while the caller has yet to.
  result.catch(() => undefined);
  return { result, pid: undefined, cancel: () => undefined };
}

/**
 * Settles a merge from the worker's messages and its exit: a killed worker leaves no file behind, and the
 * output's claim is released on every path, after that clean-up.
 */
function settleMerge(child: ChildProcess, request: MergeRequest, claim: OutputClaim, existedBefore: Set<string>, handlers: MergeCallbacks, wasCancelled: () => boolean): Promise<MergeSummary> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise<MergeSummary>((resolve, reject) => {
    // What the worker itself reported: after 'error' or 'cancelled' it has removed its own files.
    let reported: { ok: true; summary: MergeSummary } | { ok: false; error: Error } | undefined;
    let processError: Error | undefined;
    child.on('message', (message: unknown) => {
      if (!isFromWorker(message)) return;
      if (message.type === 'started') handlers.onStart?.(message.start);
      else if (message.type === 'progress') handlers.onProgress?.(message.progress);
      else if (message.type === 'layer') handlers.onLayer?.(message.report);
      else if (message.type === 'done') reported = { ok: true, summary: message.summary };
      else if (message.type === 'cancelled') reported = { ok: false, error: new MergeCancelledError() };
      else if (message.type === 'error') reported = { ok: false, error: Object.assign(new Error(message.message), { detail: message.detail }) };
    });
    child.on('error', (error) => {
      processError ??= error;
      // A worker that could not be started emits no 'exit': settle here, or the claim would be held for good.
      if (child.pid === undefined) {
        claim.release();
        reject(new Error(`the merge worker could not be started: ${error.message}; no output was written`));
      }
    });
    child.on('exit', (code, signal) => {
      void (async () => {
        if (reported?.ok) {
          claim.release();
          return resolve(reported.summary);
        }
        if (!reported) await removeLeftovers(request, child.pid, existedBefore).catch(() => undefined);
        claim.release();
        if (reported) return reject(reported.error);
        if (wasCancelled()) return reject(new MergeCancelledError());
        const why = signal ? `was killed (${signal})` : `exited with status ${code}`;
        const last = processError?.message ?? stderr.trim().split('\n').pop();
        reject(new Error(`the merge worker ${why} before finishing${last ? `: ${last}` : ''}; no output was written`));
      })();
    });
  });
}

/** Forks the worker for a claimed merge; a fork that throws releases the claim before the error goes on. */
function forkClaimed(claim: OutputClaim): ChildProcess {
  const entry = workerEntry();
  try {
    const child = fork(entry.file, [], { execArgv: entry.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    // The claim stays live while the worker runs, even if this process is killed first.
    if (child.pid !== undefined) claim.addHelper(child.pid);
    return child;
  } catch (error) {
    claim.release();
    throw error;
  }
}

/**
 * Starts a merge in a fresh worker. `signal` (or `cancel()`) asks the worker to stop: it aborts the merge's
 * token there; a worker that has not exited CANCEL_GRACE_MS later is killed.
 */
export function startMerge(request: MergeRequest, handlers: MergeCallbacks = {}, signal?: AbortSignal): RunningMerge {
  // Claimed before anything else, and held until the worker has ended and its leftovers are gone.
  let claim: OutputClaim;
  let child: ChildProcess;
  const existedBefore = new Set<string>();
  try {
    claim = claimMergeOutput(request);
    for (const file of claim.files) if (existsSync(file)) existedBefore.add(file);
    child = forkClaimed(claim);
  } catch (error) {
    return refusedMerge(error);
  }
  let cancelRequested = false;
  let killTimer: NodeJS.Timeout | undefined;
  const cancel = () => {
    if (cancelRequested || child.exitCode !== null) return;
    cancelRequested = true;
    // A closed channel (the worker is already going) answers through the callback, not as a process error.
    if (child.connected) child.send({ type: 'cancel' } satisfies ToWorker, () => undefined);
    killTimer = setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE_MS);
  };
  child.on('exit', () => {
    if (killTimer) clearTimeout(killTimer);
    signal?.removeEventListener('abort', cancel);
  });
  const result = settleMerge(child, request, claim, existedBefore, handlers, () => cancelRequested);
  if (child.connected) child.send({ type: 'merge', request } satisfies ToWorker, () => undefined);
  if (signal?.aborted) cancel();
  else signal?.addEventListener('abort', cancel, { once: true });
  return { result, pid: child.pid, cancel };
}

/** Runs one smaller job in a fresh worker; `signal` aborts it (the worker is killed: these jobs write nothing). */
export function runWorkerTask<K extends WorkerTask['kind']>(task: Extract<WorkerTask, { kind: K }>, signal?: AbortSignal): Promise<WorkerTaskResults[K]> {
  const entry = workerEntry();
  const child = fork(entry.file, [], { execArgv: entry.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let outcome: { ok: true; value: unknown } | { ok: false; error: Error } | undefined;
    const abort = () => {
      outcome ??= { ok: false, error: new Error('cancelled') };
      child.kill('SIGKILL');
    };
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    child.on('message', (message: unknown) => {
      if (!isFromWorker(message)) return;
      if (message.type === 'taskDone') outcome = { ok: true, value: message.result };
      else if (message.type === 'error') outcome = { ok: false, error: new Error(message.message) };
    });
    child.on('error', (error) => (outcome ??= { ok: false, error }));
    child.on('exit', (code, exitSignal) => {
      signal?.removeEventListener('abort', abort);
      if (outcome?.ok) resolve(outcome.value as WorkerTaskResults[K]);
      else if (outcome) reject(outcome.error);
      else reject(new Error(`the worker ${exitSignal ? `was killed (${exitSignal})` : `exited with status ${code}`}: ${stderr.trim().split('\n').pop() ?? ''}`));
    });
    child.send({ type: 'task', task } satisfies ToWorker);
  });
}
