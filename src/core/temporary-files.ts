/**
 * Temporary `.partial` files written beside their target before an atomic rename. One name pattern for every
 * writer, a registry of the ones this process has open (so a worker whose parent disappears can remove them
 * synchronously before it exits), and removal of leftovers from a process that died without cleaning up
 * (machine crash, SIGKILL): only files with exactly our pattern whose writing pid is no longer running.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** `.NAME.PID.8HEX.partial` — the pid lets a later run tell a dead writer's leftover from a live one. */
const PARTIAL_PATTERN = /^\.(.+)\.([1-9][0-9]*)\.([0-9a-f]{8})\.partial$/;

const live = new Set<string>();

/** A fresh temporary path beside `target`, registered until `releaseTemporary` is called. */
export function claimTemporary(target: string): string {
  const temporary = path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  live.add(temporary);
  return temporary;
}

/** The temporary was renamed into place or removed: nothing left to clean up for it. */
export function releaseTemporary(temporary: string): void {
  live.delete(temporary);
}

/** Creations of temporary files still in progress: the file may appear on disk after a removal ran. */
const creating = new Set<Promise<unknown>>();

/** Marks `creation` (the open or write that creates a temporary file) as in progress until it settles. */
export function tracked<T>(creation: Promise<T>): Promise<T> {
  creating.add(creation);
  const settled = () => creating.delete(creation);
  creation.then(settled, settled);
  return creation;
}

/**
 * For a process about to end: waits until no temporary file is still being created (an open running on the
 * thread pool creates its file whatever the JavaScript does meanwhile), then removes every live one.
 */
export async function removeLiveTemporariesOnceCreated(): Promise<void> {
  while (creating.size) await Promise.allSettled([...creating]);
  removeLiveTemporaries();
}

/** Synchronous so it can run in a 'disconnect' or 'exit' handler just before the process ends. */
export function removeLiveTemporaries(): void {
  for (const temporary of live) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // A file we cannot remove (folder gone, permissions changed) must not stop the others being removed.
    }
  }
  live.clear();
}

/** A process that has ended but was not reaped (an orphan whose new parent does not reap): not running. */
function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.[0] === 'Z';
  } catch {
    return false; // No /proc (not Linux), or already gone: the signal test decides.
  }
}

/** Whether process `pid` is running on this machine (the output claim's staleness test uses it too). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (error) {
    // EPERM: it exists but belongs to someone else — running, so not ours to judge.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid that wrote `name`, when it has exactly our pattern; undefined for anything else. */
export function partialWriterPid(name: string): number | undefined {
  const match = PARTIAL_PATTERN.exec(name);
  return match ? Number(match[2]) : undefined;
}

/** Removes `.partial` leftovers of writers that are no longer running from `folder`; returns the names removed. */
export async function removeStalePartials(folder: string): Promise<string[]> {
  const entries = await fs.readdir(folder).catch(() => [] as string[]);
  const stale = entries.filter((name) => {
    const pid = partialWriterPid(name);
    return pid !== undefined && pid !== process.pid && !isRunning(pid);
  });
  const removed: string[] = [];
  for (const name of stale) {
    const stat = await fs.lstat(path.join(folder, name)).catch(() => undefined);
    if (!stat?.isFile()) continue;
    await fs.rm(path.join(folder, name), { force: true }).then(() => removed.push(name), () => undefined);
  }
  return removed;
}
