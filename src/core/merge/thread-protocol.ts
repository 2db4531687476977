/** Messages between the merge's main thread and its compute threads (worker_threads in the merge worker). */
import { BackendName, ConcreteBackend } from './backends';
import { BatchJob, LayerOutput } from './layer-job';

/** What a thread's backend is, for planning batches and for the report. */
export interface ThreadBackend {
  readonly name: ConcreteBackend;
  readonly device: string;
  readonly skipped: readonly string[];
  readonly oneLayerPerBatch: boolean;
  readonly maxBatchElements: number;
}

export type ToThread = { readonly type: 'start'; readonly backend: BackendName } | { readonly type: 'batch'; readonly id: number; readonly job: BatchJob };

export type FromThread =
  | { readonly type: 'ready'; readonly backend: ThreadBackend }
  | { readonly type: 'done'; readonly id: number; readonly outputs: readonly LayerOutput[] }
  /** A job that failed (e.g. a broken factor), or with no id a backend that could not start. */
  | { readonly type: 'failed'; readonly id?: number; readonly message: string };
