/** What a merge is asked to do, and what it reports back: shared by the worker, the CLI and the host. */
import { BackendName } from './backends';
import { TwoWayLayerReport as LayerReport } from './two-way-bridge';
import { ColumnMode, DEFAULT_SPARSITY_THRESHOLD, DEFAULT_ZIPLORA_SETTINGS, SolverName } from './types';
import { UnmergedTensors } from './unmerged-tensors';

export const MERGE_METHODS = ['ziplora', 'direct'] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];
export const OUTPUT_DTYPES = ['auto', 'F16', 'BF16', 'F32'] as const;
export type OutputDtype = (typeof OUTPUT_DTYPES)[number];
/** The naming the user chose for the output: the content file's (default), the style file's, or a named one (resolved into write-output.ts' OutputNaming). */
export const OUTPUT_NAMINGS = ['content', 'style', 'kohya', 'diffusers'] as const;
export type NamingChoice = (typeof OUTPUT_NAMINGS)[number];

export interface MergeRequest {
  readonly content: string;
  readonly style: string;
  readonly output: string;
  readonly method: MergeMethod;
  /** `newton` stops on convergence; `adam` is the paper's recipe and runs `steps` steps at `learningRate`. */
  readonly solver: SolverName;
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  readonly columns: ColumnMode;
  readonly backend: BackendName;
  /** Reduce the merged layers to this rank by truncated SVD; undefined keeps rank r_c + r_s. */
  readonly rank?: number;
  readonly dtype: OutputDtype;
  readonly naming: NamingChoice;
  readonly overwrite: boolean;
  /** Weights of the direct merge (its method and its comparison baseline). */
  readonly directWeights: readonly [number, number];
  readonly sparsityThreshold: number;
  /** Compute threads solving layers in parallel; 0 = one per available core. */
  readonly threads: number;
}

export const DEFAULT_MERGE_OPTIONS = {
  method: 'ziplora' as MergeMethod,
  solver: DEFAULT_ZIPLORA_SETTINGS.solver,
  steps: DEFAULT_ZIPLORA_SETTINGS.steps,
  lambda: DEFAULT_ZIPLORA_SETTINGS.lambda,
  learningRate: DEFAULT_ZIPLORA_SETTINGS.learningRate,
  columns: DEFAULT_ZIPLORA_SETTINGS.columns,
  backend: 'auto' as BackendName,
  dtype: 'auto' as OutputDtype,
  naming: 'content' as NamingChoice,
  overwrite: false,
  directWeights: [1, 1] as const,
  sparsityThreshold: DEFAULT_SPARSITY_THRESHOLD,
  threads: 0,
};

export interface MergeStart {
  readonly backend: string;
  readonly device: string;
  /** Why faster backends were not used (auto selection). */
  readonly skipped: readonly string[];
  readonly paired: number;
  readonly contentOnly: number;
  readonly styleOnly: number;
  readonly refused: readonly { module: string; reason: string }[];
  /** Compute threads solving layers (1 for backends that run their own threads or a GPU). */
  readonly threads: number;
}

/**
 * In the order each is first reached: read the paired layers, solve them, write the merged file (these three
 * overlap, layer by layer), wait for the inputs' hashes (computed all along; the merged file's header names
 * them), write the sidecar.
 */
export const MERGE_PHASES = ['reading', 'optimising', 'writing', 'hashing', 'writing-sidecar'] as const;
export type MergePhase = (typeof MERGE_PHASES)[number];

/**
 * Where a merge stands. While optimising, `done` and `total` count LAYERS solved (a solver that stops on
 * convergence has no step count known in advance); while writing, tensors written; while reading, layers read.
 */
export interface MergeProgress {
  readonly phase: MergePhase;
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
  /** Estimated time until the last layer is solved (optimising only, once a layer is done). */
  readonly remainingMs?: number;
  readonly detail?: string;
}

export interface MergeSummary {
  readonly output: string;
  readonly sidecar: string;
  readonly method: MergeMethod;
  readonly backend: string;
  readonly device: string;
  readonly threads: number;
  readonly layers: { readonly merged: number; readonly copiedFromContent: number; readonly copiedFromStyle: number; readonly refused: number };
  readonly seconds: number;
  readonly optimiseSeconds: number;
  /** Multiply-adds of the optimisation per second, in billions (ZipLoRA only). */
  readonly gflops?: number;
  readonly meanContentError: number;
  readonly meanStyleError: number;
  readonly meanDirectContentError: number;
  readonly meanDirectStyleError: number;
  /** Peak resident memory of the process that ran the merge (the worker), in MiB. */
  readonly peakRssMiB: number;
  /** Every input tensor that was not merged: layers copied unchanged, and tensors left out with the reason. */
  readonly unmerged: UnmergedTensors;
  readonly reports: readonly LayerReport[];
}

/** How a merge's sidecar (the coefficients and the per-layer report) is named. */
export const SIDECAR_SUFFIX = '.ziplora.safetensors';

/** `model.safetensors` → `model.ziplora.safetensors`, beside it. */
export function sidecarPathFor(output: string): string {
  return output.replace(/(\.safetensors)?$/i, SIDECAR_SUFFIX);
}

export function isSidecar(file: string): boolean {
  return file.endsWith(SIDECAR_SUFFIX);
}
