/**
 * Runs a merge in the worker child process and turns its messages into callbacks and a promise. Cancel asks
 * the worker to stop (it removes its temporary files); a worker that does not stop in time, or that dies,
 * is killed and its partial files are removed here.
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { LayerReport } from '../core/merge/layer-report';
import { MergeProgress, MergeRequest, MergeStart, MergeSummary, sidecarPathFor } from '../core/merge/request';
import { claimMergeOutput } from '../core/merge/merge-claim';
import { OutputClaim } from '../core/output-claim';
import { partialWriterPid } from '../core/temporary-files';
import { FromWorker, isFromWorker, ToWorker, WorkerTask, WorkerTaskResults } from './protocol';

export interface MergeHandlers {
  onStart?(start: MergeStart): void;
  onProgress?(progress: MergeProgress): void;
  onLayer?(report: LayerReport): void;
}

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
  for (const target of [request.output, sidecarPathFor(request.output)]) {
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

export function startMerge(request: MergeRequest, handlers: MergeHandlers = {}): RunningMerge {
  const entry = workerEntry();
  // Claimed before anything else (claim-hook 1 of 3): held until the worker has ended and its leftovers are gone.
  let claim: OutputClaim;
  try {
    claim = claimMergeOutput(request);
  } catch (error) {
    return refusedMerge(error);
  }
  const existedBefore = new Set([request.output, sidecarPathFor(request.output)].filter((f) => existsSync(f)));
  const child: ChildProcess = fork(entry.file, [], { execArgv: entry.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  // claim-hook 3 of 3: the claim stays live while the worker runs, even if this process is killed first.
  if (child.pid !== undefined) claim.addHelper(child.pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let cancelRequested = false;
  let killTimer: NodeJS.Timeout | undefined;

  const result = new Promise<MergeSummary>((resolve, reject) => {
    let settled: { ok: true; summary: MergeSummary } | { ok: false; error: Error } | undefined;
    child.on('message', (message: unknown) => {
      if (!isFromWorker(message)) return;
      const m = message as FromWorker;
      switch (m.type) {
        case 'started':
          return handlers.onStart?.(m.start);
        case 'progress':
          return handlers.onProgress?.(m.progress);
        case 'layer':
          return handlers.onLayer?.(m.report);
        case 'done':
          settled = { ok: true, summary: m.summary };
          return;
        case 'taskDone':
          return;
        case 'cancelled':
          settled = { ok: false, error: new MergeCancelledError() };
          return;
        case 'error':
          settled = { ok: false, error: Object.assign(new Error(m.message), { detail: m.detail }) };
          return;
      }
    });
    child.on('error', (error) => {
      settled ??= { ok: false, error };
    });
    child.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      void (async () => {
        // claim-hook 2 of 3: released on every path, after what the worker left is cleaned up.
        if (settled?.ok) {
          claim.release();
          return resolve(settled.summary);
        }
        // A worker that reported an error or a cancel removed its own files; only a dead one leaves any.
        if (!settled) await removeLeftovers(request, child.pid, existedBefore).catch(() => undefined);
        claim.release();
        if (settled) return reject(settled.error);
        if (cancelRequested) return reject(new MergeCancelledError());
        const why = signal ? `was killed (${signal})` : `exited with status ${code}`;
        const last = stderr.trim().split('\n').pop();
        reject(new Error(`the merge worker ${why} before finishing${last ? `: ${last}` : ''}; no output was written`));
      })();
    });
  });

  const message: ToWorker = { type: 'merge', request };
  child.send(message);
  return {
    result,
    pid: child.pid,
    cancel() {
      if (cancelRequested || child.exitCode !== null) return;
      cancelRequested = true;
      child.send({ type: 'cancel' } satisfies ToWorker);
      killTimer = setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE_MS);
    },
  };
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
