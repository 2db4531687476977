/**
 * What a progress display shows of a running merge, for the CLI's bar and the editor's notification alike.
 * Reading, solving and writing overlap, so one measure leads: layers solved (with the time left), then the
 * tensors still to be written once every layer is solved, the inputs' hashes and the sidecar. Reading shows only
 * until the first layer is solved.
 */
import { MergeProgress } from '../merge/request';

export interface ProgressView {
  /** 0–1, never going back. */
  readonly fraction: number;
  readonly text: string;
}

/** "about 1 min 5 s left", "about 40 s left", "under a second left". */
export function formatTimeLeft(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return 'under a second left';
  if (seconds < 60) return `about ${seconds} s left`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `about ${minutes} min ${seconds % 60} s left`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

export class MergeProgressTracker {
  private solved = 0;
  private layers = 0;
  private fraction = 0;

  /** The view after `progress`, or undefined when it changes nothing shown. */
  update(progress: MergeProgress): ProgressView | undefined {
    const { phase, done, total } = progress;
    if (phase === 'optimising') {
      this.solved = done;
      this.layers = total;
      const left = progress.remainingMs !== undefined ? ` · ${formatTimeLeft(progress.remainingMs)}` : '';
      return this.view(total ? done / total : 1, `${done} of ${total} layers solved${left}`);
    }
    if (phase === 'reading') return this.solved === 0 ? this.view(0, `reading layer ${done} of ${total}`) : undefined;
    // After the last tensor of the merged file: waiting for the inputs' hashes, then the sidecar.
    if (phase === 'hashing') return this.view(this.fraction, 'hashing the inputs');
    if (phase === 'writing-sidecar') return this.view(this.fraction, `writing the coefficients (${done} of ${total})`);
    // Writing trails the solving; once every layer is solved, what is left is writing.
    if (this.layers === 0 || this.solved < this.layers) return undefined;
    return this.view(total ? done / total : 1, `writing tensor ${done} of ${total}`);
  }

  private view(fraction: number, text: string): ProgressView {
    this.fraction = Math.max(this.fraction, Math.min(1, fraction));
    return { fraction: this.fraction, text };
  }
}
