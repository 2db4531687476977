/** Messages between the merge worker (a child process) and its callers, the CLI and the extension host. */
import { LayerReport } from '../core/merge/layer-report';
import { MergeProgress, MergeRequest, MergeStart, MergeSummary } from '../core/merge/request';

export type ToWorker = { readonly type: 'merge'; readonly request: MergeRequest } | { readonly type: 'cancel' };

export type FromWorker =
  | { readonly type: 'started'; readonly start: MergeStart }
  | { readonly type: 'progress'; readonly progress: MergeProgress }
  | { readonly type: 'layer'; readonly report: LayerReport }
  | { readonly type: 'done'; readonly summary: MergeSummary }
  | { readonly type: 'cancelled' }
  | { readonly type: 'error'; readonly message: string; readonly detail?: string };

const FROM_WORKER_TYPES = new Set(['started', 'progress', 'layer', 'done', 'cancelled', 'error']);

export function isFromWorker(value: unknown): value is FromWorker {
  return typeof value === 'object' && value !== null && FROM_WORKER_TYPES.has((value as { type?: unknown }).type as string);
}

export function isToWorker(value: unknown): value is ToWorker {
  const type = (value as { type?: unknown } | null)?.type;
  return (type === 'merge' && typeof (value as { request?: unknown }).request === 'object') || type === 'cancel';
}
