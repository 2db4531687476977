/**
 * How a running merge reports to whoever started it (worker, CLI, extension host, tests). A cancel goes the other
 * way, as an AbortSignal (runMerge's `signal`, the client's `startMerge`).
 */
import { TwoWayLayerReport as LayerReport } from './two-way-bridge';
import { MergeProgress, MergeStart } from './request';

export interface MergeCallbacks {
  onStart?(start: MergeStart): void;
  onProgress?(progress: MergeProgress): void;
  onLayer?(report: LayerReport): void;
}
