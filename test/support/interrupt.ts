/** Interrupting merges in tests: the worker's phase delay (src/worker/test-phase-delay.ts) and folder snapshots. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PHASE_DELAY_VARIABLE } from '../../src/worker/test-phase-delay';
import type { MergePhase } from '../../src/core/merge/request';

/** Every file in `dir` with the sha256 of its bytes, sorted by name: equal snapshots mean an untouched folder. */
export function folderSnapshot(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => statSync(path.join(dir, name)).isFile())
    .sort()
    .map((name) => `${name} ${createHash('sha256').update(readFileSync(path.join(dir, name))).digest('hex')}`);
}

/** The environment of a worker (or of a CLI, whose worker inherits it) that stalls in `phase`. */
export function phaseDelayEnv(phase: MergePhase, ms: number, marker?: string): NodeJS.ProcessEnv {
  return { ...process.env, [PHASE_DELAY_VARIABLE]: `${phase}:${ms}${marker ? `:${marker}` : ''}` };
}

/** Runs `start` (which forks a worker) with the phase delay set in this process's environment, then restores it. */
export function withPhaseDelay<T>(phase: MergePhase, ms: number, start: () => T): T {
  const before = process.env[PHASE_DELAY_VARIABLE];
  process.env[PHASE_DELAY_VARIABLE] = `${phase}:${ms}`;
  try {
    return start();
  } finally {
    if (before === undefined) delete process.env[PHASE_DELAY_VARIABLE];
    else process.env[PHASE_DELAY_VARIABLE] = before;
  }
}

/** The temporary files of our writers in `dir` (`.NAME.PID.HEX.partial`). */
export function partialsIn(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.partial'));
}

/** Whether `pid` is alive; a zombie (ended, not yet reaped by whoever inherited it) counts as ended. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.[0] !== 'Z';
  } catch {
    return existsSync(`/proc/${pid}`) || process.platform !== 'linux';
  }
}

/** Waits for a process that is not our child to end; kills it and fails after `limitMs`. */
export async function waitForExit(pid: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`process ${pid} was still running ${limitMs} ms later`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
