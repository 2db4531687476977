/** How a running merge reports to whoever started it (worker, CLI, tests), and how it learns it was cancelled. */
import { LayerReport } from './layer-report';
import { MergeProgress, MergeStart } from './request';

export interface MergeCallbacks {
  onStart?(start: MergeStart): void;
  onProgress?(progress: MergeProgress): void;
  onLayer?(report: LayerReport): void;
  /** Throws to cancel; checked between layers, steps and tensors. */
  checkCancelled?(): void;
}
