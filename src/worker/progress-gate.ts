/**
 * Merge progress on its way to the parent, at most one message per phase every `intervalMs`: a merge reports every
 * layer read and solved and every tensor written, thousands of IPC messages that the parent only draws. The first
 * and the last (done = total) of a phase go at once; one held back is sent when its interval is over, unless a
 * newer one of its phase replaced it.
 */
import { MergeProgress } from '../core/merge/request';

export class ProgressGate {
  private readonly sentAt = new Map<string, number>();
  private readonly held = new Map<string, { progress: MergeProgress; timer: NodeJS.Timeout }>();

  constructor(
    private readonly send: (progress: MergeProgress) => void,
    private readonly intervalMs: number,
  ) {}

  offer(progress: MergeProgress): void {
    const { phase } = progress;
    const now = Date.now();
    const last = this.sentAt.get(phase);
    const held = this.held.get(phase);
    if (last === undefined || progress.done >= progress.total || now - last >= this.intervalMs) {
      if (held) clearTimeout(held.timer);
      this.held.delete(phase);
      this.sentAt.set(phase, now);
      this.send(progress);
      return;
    }
    if (held) {
      this.held.set(phase, { progress, timer: held.timer });
      return;
    }
    const timer = setTimeout(() => {
      const latest = this.held.get(phase);
      this.held.delete(phase);
      if (!latest) return;
      this.sentAt.set(phase, Date.now());
      this.send(latest.progress);
    }, last + this.intervalMs - now);
    timer.unref();
    this.held.set(phase, { progress, timer });
  }

  /** Drops what is held back: the merge has ended, and its outcome is the last word. */
  close(): void {
    for (const { timer } of this.held.values()) clearTimeout(timer);
    this.held.clear();
  }
}
