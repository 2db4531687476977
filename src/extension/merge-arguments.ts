/**
 * The merge command's arguments and settings, without VS Code: validation of what other extensions and tests
 * pass, defaults from the `ziplora.*` settings, and the default output path.
 */
import path from 'node:path';
import { BACKEND_NAMES, BackendName } from '../core/merge/backends';
import { DEFAULT_MERGE_OPTIONS, MergeMethod, MergeRequest, OutputDtype, OutputNaming } from '../core/merge/request';
import { ColumnMode } from '../core/merge/types';

export interface MergeSettings {
  readonly backend: BackendName;
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  readonly columns: ColumnMode;
  readonly outputDtype: OutputDtype;
  /** 0 keeps the full rank. */
  readonly outputRank: number;
  readonly sparsityThreshold: number;
}

/** Reads the settings through `get` (VS Code's configuration), falling back to the defaults on bad values. */
export function readMergeSettings(get: (key: string) => unknown): MergeSettings {
  const pick = <T>(key: string, fallback: T, valid: (v: unknown) => boolean): T => {
    const value = get(key);
    return valid(value) ? (value as T) : fallback;
  };
  const number = (min: number) => (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= min;
  return {
    backend: pick('backend', DEFAULT_MERGE_OPTIONS.backend, (v) => (BACKEND_NAMES as readonly unknown[]).includes(v)),
    steps: pick('steps', DEFAULT_MERGE_OPTIONS.steps, (v) => number(0)(v) && Number.isInteger(v)),
    lambda: pick('lambda', DEFAULT_MERGE_OPTIONS.lambda, number(0)),
    learningRate: pick('learningRate', DEFAULT_MERGE_OPTIONS.learningRate, (v) => number(0)(v) && (v as number) > 0),
    columns: pick('columns', DEFAULT_MERGE_OPTIONS.columns, (v) => v === 'input' || v === 'output'),
    outputDtype: pick('outputDtype', DEFAULT_MERGE_OPTIONS.dtype, (v) => ['auto', 'F16', 'BF16', 'F32'].includes(v as string)),
    outputRank: pick('outputRank', 0, (v) => number(0)(v) && Number.isInteger(v)),
    sparsityThreshold: pick('sparsityThreshold', DEFAULT_MERGE_OPTIONS.sparsityThreshold, (v) => number(0)(v) && (v as number) <= 1),
  };
}

/** What `ziplora.mergeLoras` accepts from other extensions and tests; with content and style, no prompt. */
export interface MergeCommandArgs {
  readonly content?: string;
  readonly style?: string;
  readonly output?: string;
  readonly method?: MergeMethod;
  readonly steps?: number;
  readonly lambda?: number;
  readonly learningRate?: number;
  readonly columns?: ColumnMode;
  readonly backend?: BackendName;
  readonly rank?: number;
  readonly dtype?: OutputDtype;
  readonly naming?: OutputNaming;
  readonly overwrite?: boolean;
}

/** Checks an argument object from outside; returns the problems in words (empty when it is fine). */
export function validateMergeCommandArgs(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['the argument must be an object like { content, style, output }'];
  const a = value as Record<string, unknown>;
  const problems: string[] = [];
  const known = ['content', 'style', 'output', 'method', 'steps', 'lambda', 'learningRate', 'columns', 'backend', 'rank', 'dtype', 'naming', 'overwrite'];
  for (const key of Object.keys(a)) if (!known.includes(key)) problems.push(`unknown option "${key}"`);
  for (const key of ['content', 'style', 'output']) if (a[key] !== undefined && (typeof a[key] !== 'string' || !(a[key] as string).length)) problems.push(`${key} must be a file path`);
  if (typeof a.output === 'string' && !a.output.toLowerCase().endsWith('.safetensors')) problems.push('output must end in .safetensors');
  const oneOf = (key: string, allowed: readonly unknown[]) => {
    if (a[key] !== undefined && !allowed.includes(a[key])) problems.push(`${key} must be one of ${allowed.join(', ')}`);
  };
  oneOf('method', ['ziplora', 'direct']);
  oneOf('columns', ['input', 'output']);
  oneOf('backend', BACKEND_NAMES);
  oneOf('dtype', ['auto', 'F16', 'BF16', 'F32']);
  oneOf('naming', ['content', 'style', 'kohya', 'diffusers']);
  const number = (key: string, ok: (n: number) => boolean) => {
    if (a[key] !== undefined && !(typeof a[key] === 'number' && ok(a[key] as number))) problems.push(`${key} is not valid`);
  };
  number('steps', (n) => Number.isInteger(n) && n >= 0 && n <= 100_000);
  number('lambda', (n) => n >= 0 && Number.isFinite(n));
  number('learningRate', (n) => n > 0 && Number.isFinite(n));
  number('rank', (n) => Number.isInteger(n) && n >= 1);
  if (a.overwrite !== undefined && typeof a.overwrite !== 'boolean') problems.push('overwrite must be true or false');
  return problems;
}

/** `<content>+<style>.safetensors` beside the content file, numbered if that name is taken. */
export function defaultOutputPath(content: string, style: string, exists: (file: string) => boolean): string {
  const stem = (file: string) => path.basename(file).replace(/\.safetensors$/i, '');
  const base = path.join(path.dirname(content), `${stem(content)}+${stem(style)}.ziplora`);
  for (let n = 1; ; n++) {
    const candidate = `${base}${n === 1 ? '' : `-${n}`}.safetensors`;
    if (!exists(candidate) && !exists(candidate.replace(/\.safetensors$/, '.ziplora.safetensors'))) return candidate;
  }
}

export function buildMergeRequest(args: MergeCommandArgs & { content: string; style: string; output: string }, settings: MergeSettings): MergeRequest {
  const rank = args.rank ?? (settings.outputRank > 0 ? settings.outputRank : undefined);
  return {
    ...DEFAULT_MERGE_OPTIONS,
    content: args.content,
    style: args.style,
    output: args.output,
    method: args.method ?? DEFAULT_MERGE_OPTIONS.method,
    steps: args.steps ?? settings.steps,
    lambda: args.lambda ?? settings.lambda,
    learningRate: args.learningRate ?? settings.learningRate,
    columns: args.columns ?? settings.columns,
    backend: args.backend ?? settings.backend,
    ...(rank !== undefined ? { rank } : {}),
    dtype: args.dtype ?? settings.outputDtype,
    naming: args.naming ?? DEFAULT_MERGE_OPTIONS.naming,
    overwrite: args.overwrite ?? false,
    sparsityThreshold: settings.sparsityThreshold,
  };
}
