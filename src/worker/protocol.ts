/** Messages between the worker (a child process) and its callers, the CLI and the extension host. */
import { LayerReport } from '../core/merge/layer-report';
import { MergeProgress, MergeRequest, MergeStart, MergeSummary } from '../core/merge/request';
import type { LoraLayerSummary } from '../core/lora/summary';
import type { TensorStats } from '../core/stats/tensor-stats';
import type { ComparisonView } from '../shared/webview-protocol';

/** The smaller jobs the extension asks of the worker, besides merges: anything that reads tensor data. */
export type WorkerTask =
  | { readonly kind: 'tensorStats'; readonly file: string; readonly tensor: string }
  | { readonly kind: 'loraLayers'; readonly file: string }
  /** 2..8 LoRA files, compared pair by pair. */
  | { readonly kind: 'compare'; readonly files: readonly string[] };

export interface WorkerTaskResults {
  readonly tensorStats: TensorStats | null;
  readonly loraLayers: readonly LoraLayerSummary[];
  /** The readable pairing report and per-layer column cosine, and the same as data for the panel. */
  readonly compare: { readonly text: string; readonly view: ComparisonView };
}

export type ToWorker =
  | { readonly type: 'merge'; readonly request: MergeRequest }
  | { readonly type: 'task'; readonly task: WorkerTask }
  | { readonly type: 'cancel' };

export type FromWorker =
  | { readonly type: 'started'; readonly start: MergeStart }
  | { readonly type: 'progress'; readonly progress: MergeProgress }
  | { readonly type: 'layer'; readonly report: LayerReport }
  | { readonly type: 'done'; readonly summary: MergeSummary }
  | { readonly type: 'taskDone'; readonly result: unknown }
  | { readonly type: 'cancelled' }
  | { readonly type: 'error'; readonly message: string; readonly detail?: string };

const FROM_WORKER_TYPES = new Set(['started', 'progress', 'layer', 'done', 'taskDone', 'cancelled', 'error']);

export function isFromWorker(value: unknown): value is FromWorker {
  return typeof value === 'object' && value !== null && FROM_WORKER_TYPES.has((value as { type?: unknown }).type as string);
}

function isTask(value: unknown): value is WorkerTask {
  const t = value as Record<string, unknown> | null;
  if (typeof t !== 'object' || t === null) return false;
  const text = (v: unknown) => typeof v === 'string' && v.length > 0;
  switch (t.kind) {
    case 'tensorStats':
      return text(t.file) && text(t.tensor);
    case 'loraLayers':
      return text(t.file);
    case 'compare':
      return Array.isArray(t.files) && t.files.length >= 2 && t.files.length <= 8 && t.files.every(text);
    default:
      return false;
  }
}

export function isToWorker(value: unknown): value is ToWorker {
  const m = value as { type?: unknown; request?: unknown; task?: unknown } | null;
  if (m?.type === 'merge') return typeof m.request === 'object' && m.request !== null;
  if (m?.type === 'task') return isTask(m.task);
  return m?.type === 'cancel';
}
