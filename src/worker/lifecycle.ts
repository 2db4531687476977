/**
 * What the worker does when its parent goes away (IPC closed by the parent, or the parent killed): while a job
 * runs, its registered temporary files are removed — once any still being created exists on disk — and the
 * process exits, so a closed editor window or a killed CLI leaves neither a running merge nor a `.partial` file.
 */
import { removeLiveTemporariesOnceCreated } from '../core/temporary-files';

/**
 * `stopJob` aborts the running job at once, so that it commits nothing while its files are removed; `release`
 * runs last, just before the exit: an output claim that names this worker is freed only when nothing of it is
 * left for a later merge to meet.
 */
export function exitWithParent(isJobRunning: () => boolean, onParentGone: { stopJob(): void; release(): void }): void {
  process.on('disconnect', () => {
    if (!isJobRunning()) return;
    onParentGone.stopJob();
    void removeLiveTemporariesOnceCreated().finally(() => {
      onParentGone.release();
      process.exit(0);
    });
  });
}
