/**
 * One writer per output: before a merge does any work, the process that starts it (the CLI, or the extension
 * host) claims each file it will write by creating `<file>.lock` exclusively. The lock names the merge (pid,
 * host, start time, what it merges), so a second merge into the same name is refused at once with words a
 * person can act on. It is released on every exit path; a lock whose process is gone (same host, pid not
 * running, or written before the machine last started) is stale and taken over.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRunning } from './temporary-files';

/** What a lock file holds. */
export interface ClaimHolder {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the claim was made. */
  readonly started: string;
  /** The merge, in words: "ziplora merge of A.safetensors + B.safetensors". */
  readonly description: string;
  /** Tells this claim from a later one by the same pid (a release never removes someone else's lock). */
  readonly token: string;
  /** Processes working for the claim (the merge worker): it stays live while any of them runs. */
  readonly helpers?: readonly number[];
}

export interface OutputClaim {
  readonly files: readonly string[];
  /** Records a process working for this claim (a worker that may outlive a killed parent for a moment). */
  addHelper(pid: number): void;
  /** Removes the locks this claim still holds; safe to call more than once. */
  release(): void;
}

export class OutputClaimedError extends Error {
  override name = 'OutputClaimedError';
}

export function lockPathFor(file: string): string {
  return `${path.resolve(file)}.lock`;
}

function readHolder(lock: string): ClaimHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(lock, 'utf8')) as Partial<ClaimHolder>;
    return typeof parsed.pid === 'number' && typeof parsed.hostname === 'string' && typeof parsed.token === 'string' ? (parsed as ClaimHolder) : undefined;
  } catch {
    return undefined;
  }
}

/** Stale: its process is gone. A lock from another host is never judged stale (its pid means nothing here). */
export function isStale(holder: ClaimHolder): boolean {
  if (holder.hostname !== os.hostname()) return false;
  // A pid reused after a restart would otherwise keep a dead merge's lock alive.
  const bootTime = Date.now() - os.uptime() * 1000;
  const alive = [holder.pid, ...(Array.isArray(holder.helpers) ? holder.helpers : [])].some(isRunning);
  return !alive || Date.parse(holder.started) < bootTime;
}

/**
 * Creates `lock` holding `holder` in one step: written to a private file first and hard-linked into place (a link
 * fails if the name exists), so no reader ever sees a half-written lock. Where links are unsupported, an
 * exclusive create. False when the lock exists.
 */
function createLock(lock: string, holder: ClaimHolder): boolean {
  const text = JSON.stringify(holder, null, 2) + '\n';
  const draft = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(draft, text, { flag: 'wx' });
    try {
      linkSync(draft, lock);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    } finally {
      unlinkSync(draft);
    }
    writeFileSync(lock, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Takes a stale lock away: moved aside first, so of two processes doing this at once only one succeeds; if what
 * was moved is not the stale lock that was read (a live claim made meanwhile), it is put back.
 */
function removeStaleLock(lock: string, stale: ClaimHolder): void {
  const aside = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // Someone else moved it first; the caller tries again.
  }
  if (readHolder(aside)?.token !== stale.token) {
    try {
      linkSync(aside, lock);
    } catch {
      // A third claim already holds the name: the one we moved has lost it, as if we had lost the race.
    }
  }
  unlinkSync(aside);
}

function when(holder: ClaimHolder): string {
  const date = new Date(holder.started);
  return Number.isNaN(date.getTime()) ? 'an unknown time' : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function refusal(file: string, lock: string, holder: ClaimHolder | undefined): OutputClaimedError {
  const who = holder ? `${holder.description} (pid ${holder.pid} on ${holder.hostname}, since ${when(holder)})` : 'another merge (its lock cannot be read)';
  return new OutputClaimedError(
    `${file}: another merge is writing this file: ${who} — wait for it to finish or choose another output path; --force does not override a running merge (if none is running, remove ${lock})`,
  );
}

/** Claims one file; throws OutputClaimedError naming the merge that holds it. */
function claimOne(file: string, holder: ClaimHolder): void {
  const lock = lockPathFor(file);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createLock(lock, holder)) return;
    const current = readHolder(lock);
    if (!current || !isStale(current)) {
      // A lock being removed right now reads as missing: look again before refusing.
      if (!current && attempt < 4) continue;
      throw refusal(file, lock, current);
    }
    removeStaleLock(lock, current);
  }
  throw refusal(file, lock, readHolder(lock));
}

const held = new Map<string, string>();
let exitHookInstalled = false;

/** Releases every claim still held when the process ends normally (a killed process leaves a stale lock). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [lock, token] of held) releaseLock(lock, token);
  });
}

/** Replaces our own lock's content in one step (a rename over it); a lock that is no longer ours is left alone. */
function rewriteLock(lock: string, holder: ClaimHolder): void {
  if (readHolder(lock)?.token !== holder.token) return;
  const draft = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(draft, JSON.stringify(holder, null, 2) + '\n', { flag: 'wx' });
  renameSync(draft, lock);
}

function releaseLock(lock: string, token: string): void {
  held.delete(lock);
  if (readHolder(lock)?.token !== token) return;
  try {
    unlinkSync(lock);
  } catch {
    // Already gone (removed by hand): nothing to release.
  }
}

/**
 * Claims `files` (an output and its sidecar) for one merge, all or none. Synchronous, so a caller can claim
 * before it starts anything and no other code runs between the check and the claim.
 */
export function claimOutputs(files: readonly string[], description: string): OutputClaim {
  let holder: ClaimHolder = { pid: process.pid, hostname: os.hostname(), started: new Date().toISOString(), description, token: randomBytes(8).toString('hex') };
  const claimed: string[] = [];
  const release = () => {
    for (const file of claimed.splice(0)) releaseLock(lockPathFor(file), holder.token);
  };
  try {
    for (const file of files) {
      claimOne(file, holder);
      claimed.push(file);
      held.set(lockPathFor(file), holder.token);
    }
  } catch (error) {
    release();
    throw error;
  }
  installExitHook();
  const addHelper = (pid: number) => {
    holder = { ...holder, helpers: [...(holder.helpers ?? []), pid] };
    for (const file of claimed) rewriteLock(lockPathFor(file), holder);
  };
  return { files: [...files], addHelper, release };
}

/**
 * For a helper whose claimant was killed outright (and so cannot release): removes the locks of `files` that name
 * `pid` as a helper. Synchronous, for a 'disconnect' handler just before the process ends.
 */
export function releaseClaimsHelpedBy(files: readonly string[], pid: number): void {
  for (const file of files) {
    const holder = readHolder(lockPathFor(file));
    if (holder && Array.isArray(holder.helpers) && holder.helpers.includes(pid)) releaseLock(lockPathFor(file), holder.token);
  }
}
