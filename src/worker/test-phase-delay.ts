/**
 * A hook for tests only, read by the worker alone: ZIPLORA_TEST_PHASE_DELAY="PHASE:MS[:MARKER]" blocks the
 * worker MS milliseconds after each progress event of PHASE (so a test can cancel or kill a merge while it is
 * inside that phase, temporary files open) and, when MARKER is given, creates that file the first time the
 * phase is reached, holding the worker's pid (so a test driving the CLI, which prints no phases, knows when to
 * interrupt and which process to wait for). Unset, it does nothing; the tool never sets it.
 */
import { writeFileSync } from 'node:fs';
import { MERGE_PHASES, MergePhase } from '../core/merge/request';

export const PHASE_DELAY_VARIABLE = 'ZIPLORA_TEST_PHASE_DELAY';

export function phaseDelayForTests(setting = process.env[PHASE_DELAY_VARIABLE]): ((phase: MergePhase) => void) | undefined {
  const match = setting ? /^([a-z-]+):(\d+)(?::(.+))?$/.exec(setting) : null;
  if (!match || !(MERGE_PHASES as readonly string[]).includes(match[1])) return undefined;
  const [, phase, ms, marker] = match;
  let marked = false;
  return (current) => {
    if (current !== phase) return;
    if (marker && !marked) writeFileSync(marker, String(process.pid));
    marked = true;
    // Blocking on purpose: the progress message is already written to the IPC pipe, the merge cannot move on.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms));
  };
}
