/**
 * What the worker does when its parent goes away (IPC closed by the parent, or the parent killed): while a job
 * runs, its registered temporary files are removed — once any still being created exists on disk — and the
 * process exits, so a closed editor window or a killed CLI leaves neither a running merge nor a `.partial` file.
 */
import { removeLiveTemporariesOnceCreated } from '../core/temporary-files';

export function exitWithParent(isJobRunning: () => boolean): void {
  process.on('disconnect', () => {
    if (!isJobRunning()) return;
    void removeLiveTemporariesOnceCreated().finally(() => process.exit(0));
  });
}
