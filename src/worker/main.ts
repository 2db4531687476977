/**
 * The worker: a child process (child_process.fork) that does every heavy step — merges, and the extension's
 * statistics and comparisons — so the extension host and the CLI never block. One job per process.
 */
import os from 'node:os';
import path from 'node:path';
import { runMerge } from '../core/merge/pipeline';
import { claimedFiles } from '../core/merge/merge-claim';
import { validateMergeRequest } from '../core/merge/merge-options';
import { releaseClaimsHelpedBy } from '../core/output-claim';
import { describeError } from '../core/safetensors/errors';
import { removeStalePartials } from '../core/temporary-files';
import { exitWithParent } from './lifecycle';
import { FromWorker, isToWorker, WorkerTask } from './protocol';
import { runTask } from './tasks';
import { ProgressGate } from './progress-gate';
import { phaseDelayForTests } from './test-phase-delay';

class CancelledError extends Error {}

/**
 * The worker runs below the priority of the process that started it, and its compute threads (started later
 * from this thread) inherit that: a merge that fills every core must not starve VS Code's extension host and UI.
 * Niceness only matters while the cores are contended, so a merge alone runs as fast.
 */
const WORKER_NICENESS = 10;
try {
  os.setPriority(Math.max(os.getPriority(), WORKER_NICENESS));
} catch {
  // Not permitted here: the worker keeps its parent's priority.
}

/** The merge's cancellation token: the cancel message aborts it. */
const cancel = new AbortController();
/** The output claim's files of the running merge (its parent holds the claim, with this worker as a helper). */
let claimedByThisMerge: string[] = [];
let running = false;
const delayPhaseForTests = phaseDelayForTests();
/** A progress bar or panel redrawn 20 times a second looks live; more is IPC the parent only draws. */
const PROGRESS_INTERVAL_MS = 50;

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));
}

async function merge(request: unknown): Promise<void> {
  const problems = validateMergeRequest(request);
  if (problems.length) {
    await send({ type: 'error', message: `invalid merge request: ${problems.join('; ')}` });
    return;
  }
  running = true;
  // A parent killed outright cannot release the claim that names this worker; the worker does, as it exits.
  claimedByThisMerge = claimedFiles(request as { output: string });
  const progress = new ProgressGate((p) => void send({ type: 'progress', progress: p }), PROGRESS_INTERVAL_MS);
  try {
    // Leftovers of a merge into this folder whose worker died with the machine (never a live writer's file).
    await removeStalePartials(path.dirname(path.resolve((request as { output: string }).output)));
    const summary = await runMerge(
      request as Parameters<typeof runMerge>[0],
      {
        onStart: (start) => void send({ type: 'started', start }),
        onProgress: (p) => {
          progress.offer(p);
          delayPhaseForTests?.(p.phase);
        },
        onLayer: (report) => void send({ type: 'layer', report }),
      },
      cancel.signal,
    );
    progress.close();
    await send({ type: 'done', summary });
  } catch (error) {
    progress.close();
    if (error instanceof CancelledError) await send({ type: 'cancelled' });
    else await send({ type: 'error', message: describeError(error), detail: error instanceof Error ? error.stack : undefined });
  }
}

async function refuse(message: unknown): Promise<void> {
  const kind = (message as { type?: unknown } | null)?.type;
  await send({ type: 'error', message: `the merge worker refused a message it does not understand (type ${JSON.stringify(kind ?? null)}); this is a bug in the caller` });
}

async function task(job: WorkerTask): Promise<void> {
  running = true;
  try {
    await send({ type: 'taskDone', result: await runTask(job) });
  } catch (error) {
    await send({ type: 'error', message: describeError(error), detail: error instanceof Error ? error.stack : undefined });
  }
}

process.on('message', (message: unknown) => {
  if (!isToWorker(message)) {
    // A caller that sent something else would otherwise wait forever for an answer.
    if (!running) void refuse(message).then(() => process.disconnect?.());
    return;
  }
  if (message.type === 'cancel') cancel.abort(new CancelledError('cancelled'));
  else if (running) return;
  else if (message.type === 'merge') void merge(message.request).then(() => process.disconnect?.());
  else void task(message.task).then(() => process.disconnect?.());
});
// A parent that goes away takes the work with it, and its temporary files, whatever phase it was in.
exitWithParent(() => running, {
  stopJob: () => cancel.abort(new CancelledError('the process that started the merge went away')),
  release: () => releaseClaimsHelpedBy(claimedByThisMerge, process.pid),
});
