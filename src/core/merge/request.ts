/** What a merge is asked to do, and what it reports back: shared by the worker, the CLI and the host. */
import { BackendName, isBackendName } from './backends';
import { LayerReport } from './layer-report';
import { ColumnMode, DEFAULT_ZIPLORA_SETTINGS } from './types';

export type MergeMethod = 'ziplora' | 'direct';
export type OutputDtype = 'auto' | 'F16' | 'BF16' | 'F32';
/** The naming scheme of the output: the content file's (default), the style file's, or a named one. */
export type OutputNaming = 'content' | 'style' | 'kohya' | 'diffusers';

export interface MergeRequest {
  readonly content: string;
  readonly style: string;
  readonly output: string;
  readonly method: MergeMethod;
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  readonly columns: ColumnMode;
  readonly backend: BackendName;
  /** Reduce the merged layers to this rank by truncated SVD; undefined keeps rank r_c + r_s. */
  readonly rank?: number;
  readonly dtype: OutputDtype;
  readonly naming: OutputNaming;
  readonly overwrite: boolean;
  /** Weights of the direct merge (its method and its comparison baseline). */
  readonly directWeights: readonly [number, number];
  readonly sparsityThreshold: number;
}

export const DEFAULT_MERGE_OPTIONS = {
  method: 'ziplora' as MergeMethod,
  steps: DEFAULT_ZIPLORA_SETTINGS.steps,
  lambda: DEFAULT_ZIPLORA_SETTINGS.lambda,
  learningRate: DEFAULT_ZIPLORA_SETTINGS.learningRate,
  columns: DEFAULT_ZIPLORA_SETTINGS.columns,
  backend: 'auto' as BackendName,
  dtype: 'auto' as OutputDtype,
  naming: 'content' as OutputNaming,
  overwrite: false,
  directWeights: [1, 1] as const,
  sparsityThreshold: 0.05,
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
}

export type MergePhase = 'reading' | 'optimising' | 'writing';

export interface MergeProgress {
  readonly phase: MergePhase;
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
  readonly detail?: string;
}

export interface MergeSummary {
  readonly output: string;
  readonly sidecar: string;
  readonly method: MergeMethod;
  readonly backend: string;
  readonly device: string;
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
  readonly warnings: readonly string[];
  readonly reports: readonly LayerReport[];
}

/** Checks a request that crossed a process boundary; returns a list of problems (empty when valid). */
export function validateMergeRequest(value: unknown): string[] {
  const problems: string[] = [];
  const r = value as Partial<Record<keyof MergeRequest, unknown>>;
  if (typeof value !== 'object' || value === null) return ['the request is not an object'];
  for (const key of ['content', 'style', 'output'] as const) if (typeof r[key] !== 'string' || !r[key]) problems.push(`${key} must be a file path`);
  if (r.method !== 'ziplora' && r.method !== 'direct') problems.push('method must be "ziplora" or "direct"');
  if (!Number.isInteger(r.steps) || (r.steps as number) < 0 || (r.steps as number) > 100_000) problems.push('steps must be an integer from 0 to 100000');
  if (typeof r.lambda !== 'number' || !Number.isFinite(r.lambda) || r.lambda < 0) problems.push('lambda must be a number ≥ 0');
  if (typeof r.learningRate !== 'number' || !(r.learningRate > 0) || !Number.isFinite(r.learningRate)) problems.push('learning rate must be a number > 0');
  if (r.columns !== 'input' && r.columns !== 'output') problems.push('columns must be "input" or "output"');
  if (typeof r.backend !== 'string' || !isBackendName(r.backend)) problems.push('unknown backend');
  if (r.rank !== undefined && (!Number.isInteger(r.rank) || (r.rank as number) < 1)) problems.push('rank must be a positive integer');
  if (!['auto', 'F16', 'BF16', 'F32'].includes(r.dtype as string)) problems.push('dtype must be auto, F16, BF16 or F32');
  if (!['content', 'style', 'kohya', 'diffusers'].includes(r.naming as string)) problems.push('naming must be content, style, kohya or diffusers');
  if (typeof r.overwrite !== 'boolean') problems.push('overwrite must be true or false');
  const weights = r.directWeights as unknown;
  if (!Array.isArray(weights) || weights.length !== 2 || !weights.every((w) => typeof w === 'number' && Number.isFinite(w))) problems.push('directWeights must be two numbers');
  if (typeof r.sparsityThreshold !== 'number' || !(r.sparsityThreshold >= 0 && r.sparsityThreshold <= 1)) problems.push('sparsityThreshold must be in [0, 1]');
  return problems;
}

/** `model.safetensors` → `model.ziplora.safetensors`, beside it. */
export function sidecarPathFor(output: string): string {
  return output.replace(/(\.safetensors)?$/i, '.ziplora.safetensors');
}
