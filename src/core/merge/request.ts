/** What a merge is asked to do, and what it reports back: shared by the worker, the CLI and the host. */
import { BackendName } from './backends';
import { LayerReport } from './layer-report';
import { ColumnMode, DEFAULT_SPARSITY_THRESHOLD, DEFAULT_ZIPLORA_SETTINGS, MAX_INPUTS, MIN_INPUTS, SolverName } from './types';
import { UnmergedTensors } from './unmerged-tensors';

export const MERGE_METHODS = ['ziplora', 'direct'] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];
export const OUTPUT_DTYPES = ['auto', 'F16', 'BF16', 'F32'] as const;
export type OutputDtype = (typeof OUTPUT_DTYPES)[number];
/**
 * The naming the user chose for the output: the first input's (default), a named one, or for two inputs the
 * content (= first) or the style (= second) file's (resolved in output-plan.ts).
 */
export const OUTPUT_NAMINGS = ['first', 'content', 'style', 'kohya', 'diffusers'] as const;
export type NamingChoice = (typeof OUTPUT_NAMINGS)[number];

export { MAX_INPUTS, MIN_INPUTS };

/** One input LoRA and its strength: its ΔW is scaled by `weight` (and by a block weight) before the merge. */
export interface MergeInput {
  readonly path: string;
  readonly weight: number;
}

// The block rules' types live with their parser, which imports nothing of the request: modules this file imports
// (unmerged-tensors → weighted-groups) use the rules without an import cycle. They are part of the request, so here too.
export { BLOCK_METHODS } from './block-rules';
export type { BlockMethod, BlockRule } from './block-rules';
import type { BlockRule } from './block-rules';

/** A recipe file's JSON (recipe.ts' Recipe; named here only as an object, so that request.ts imports no recipe code). */
export type RecipeObject = Readonly<Record<string, unknown>>;

export interface MergeRequest {
  /** In order: input 1 (for two inputs: the content), input 2 (the style), …; 2 to 8 of them. */
  readonly inputs: readonly MergeInput[];
  readonly output: string;
  readonly method: MergeMethod;
  /** `newton` stops on convergence; `adam` is the paper's recipe and runs `steps` steps at `learningRate`. */
  readonly solver: SolverName;
  readonly steps: number;
  /** The overlap penalty's weight, or `auto`: per layer read off a short λ path (lambda-path.ts). */
  readonly lambda: number | 'auto';
  readonly learningRate: number;
  readonly columns: ColumnMode;
  readonly backend: BackendName;
  /** Reduce the merged layers to at most this rank by truncated SVD; undefined keeps rank Σ r_i. */
  readonly rank?: number;
  /** Per layer the smallest rank that keeps this share of ‖ΔW‖² (0 < E ≤ 1), by truncated SVD; with `rank`, the smaller. */
  readonly rankEnergy?: number;
  readonly dtype: OutputDtype;
  readonly naming: NamingChoice;
  /** Per-block weights and methods, applied in order (block-rules.ts). */
  readonly blocks: readonly BlockRule[];
  readonly overwrite: boolean;
  readonly sparsityThreshold: number;
  /** Compute threads solving layers in parallel; 0 = one per available core. */
  readonly threads: number;
  /** The recipe the merge was run from, written into the outputs' metadata as it is (recipe.ts). */
  readonly recipe?: RecipeObject;
  /** Merge LoRAs for different experts of one model (Wan 2.2 A14B's high-noise and low-noise), which is refused otherwise (experts.ts). */
  readonly allowMixedExperts?: boolean;
}

export const DEFAULT_MERGE_OPTIONS = {
  method: 'ziplora' as MergeMethod,
  solver: DEFAULT_ZIPLORA_SETTINGS.solver,
  steps: DEFAULT_ZIPLORA_SETTINGS.steps,
  lambda: DEFAULT_ZIPLORA_SETTINGS.lambda as number | 'auto',
  learningRate: DEFAULT_ZIPLORA_SETTINGS.learningRate,
  columns: DEFAULT_ZIPLORA_SETTINGS.columns,
  backend: 'auto' as BackendName,
  dtype: 'auto' as OutputDtype,
  naming: 'first' as NamingChoice,
  blocks: [] as readonly BlockRule[],
  overwrite: false,
  sparsityThreshold: DEFAULT_SPARSITY_THRESHOLD,
  threads: 0,
};

export interface MergeStart {
  readonly backend: string;
  readonly device: string;
  /** Why faster backends were not used (auto selection). */
  readonly skipped: readonly string[];
  /** The inputs' file names, in request order. */
  readonly inputs: readonly string[];
  /** Layers merged from two or more inputs (solved, or summed where a block is `direct`). */
  readonly merged: number;
  /** Per input: its layers written alone (no other input has them, or the others' weights are 0 there), scaled. */
  readonly copied: readonly number[];
  /** Layers not written: a `skip` block, or every input's weight 0 there. */
  readonly notWritten: number;
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
  readonly inputs: readonly { readonly file: string; readonly weight: number }[];
  readonly layers: { readonly merged: number; readonly copied: readonly number[]; readonly notWritten: number; readonly refused: number };
  readonly seconds: number;
  readonly optimiseSeconds: number;
  /** Multiply-adds of the optimisation per second, in billions (ZipLoRA only). */
  readonly gflops?: number;
  /** Per input, its mean relative fidelity error over the merged layers it is in (NaN where it is in none) … */
  readonly meanErrors: readonly number[];
  /** … and the same for the direct merge (m = 1: the sum of the weighted deltas). */
  readonly meanDirectErrors: readonly number[];
  /** The merged file's size in bytes and, when `rank`/`rankEnergy` reduced layers, the size it has at rank Σ r_i. */
  readonly fileBytes: number;
  readonly exactFileBytes: number;
  /** With `lambda: auto`: the λ path's errors summed over the layers and their mean overlap (lambda-path.ts). */
  readonly lambdaCurve?: readonly { readonly lambda: number; readonly error: number; readonly overlap: number }[];
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

/** What an input is called to the user: for two inputs the two-file wording (content, style), else "input N". */
export function inputLabel(index: number, count: number): string {
  if (count === 2) return index === 0 ? 'content' : 'style';
  return `input ${index + 1}`;
}
