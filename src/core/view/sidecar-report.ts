/**
 * A ZipLoRA sidecar (`OUT.ziplora.safetensors`) read into one N-way model, whatever its format:
 *   - format 2 (`ziplora_format: "2"`): `ziplora_inputs`, `ziplora_recipe`, `ziplora_run`, the N-way
 *     `ziplora_report`, `ziplora_lambda_curve` (λ auto), tensors `<module>.m.<i>` (i = 0-based input index);
 *   - format 1 (no `ziplora_format`, written before several inputs): `ziplora_sources` (content, style), the
 *     two-way `ziplora_report` (contentError, sparsityStyle, …), tensors `<module>.m_content` / `.m_style`.
 * Old sidecars keep opening: a format-1 layer becomes the N-way report of inputs 0 (content) and 1 (style).
 * Every problem names the sidecar and the JSON path of the bad value.
 */
import path from 'node:path';
import type { LayerReport, PairOverlap } from '../merge/layer-report';
import { SIDECAR_SUFFIX } from '../merge/request';
import { STOP_REASONS, StopReason } from '../merge/types';
import { SafetensorsError } from '../safetensors/errors';
import type { SafetensorsFile } from '../safetensors/reader';

/** One point of a λ path: the merge's total fidelity error (Σ over inputs) and residual overlap at that λ. */
export type LambdaPoint = NonNullable<LayerReport['lambdaCurve']>[number];

export interface SidecarInput {
  /** The input's file name, as the merge recorded it (a base name). */
  readonly file: string;
  readonly sha256?: string;
  /** The strength the input was merged at (1 unless the merge weighted it). */
  readonly weight: number;
}

/** A format-1 layer's column shares, which the two-way report carried: one input kept, both, neither. */
export interface TwoWayShares {
  readonly zipped: number;
  readonly bothOn: number;
  readonly bothOff: number;
}

export interface SidecarReport {
  /** The sidecar file the report came from. */
  readonly sidecar: string;
  readonly mergedFile: string;
  readonly format: 1 | 2;
  /** The merge's inputs in request order: input i of every layer's `inputs`, `pairs` and `<module>.m.<i>`. */
  readonly inputs: readonly SidecarInput[];
  /** The settings to show (method, solver, λ, steps, blocks, backend, version …), one level deep. */
  readonly recipe: Readonly<Record<string, unknown>>;
  readonly layers: readonly LayerReport[];
  /** Format 1 only: per module, the share of columns zipped / kept by both / by neither. */
  readonly shares?: Readonly<Record<string, TwoWayShares>>;
  /** λ auto: the path summed over layers (each layer's own path and chosen λ are in its report). */
  readonly lambdaCurve?: readonly LambdaPoint[];
}

/** The coefficients of one merged layer: the inputs present in it (request indices) and m_i for each. */
export interface LayerCoefficients {
  readonly inputs: readonly number[];
  readonly m: readonly Float32Array[];
}

const FORMATS = ['1', '2'] as const;
/** At most this many inputs are merged (request.ts); the coefficient tensors are looked up by these indices. */
const MAX_INPUTS = 8;

type Json = Record<string, unknown>;

class SidecarReader {
  constructor(readonly file: string) {}

  fail(where: string, problem: string): never {
    throw new SafetensorsError(this.file, `${where} ${problem}`, 'the sidecar is damaged or was not written by ziplora; merge again to rewrite it');
  }

  json(metadata: Readonly<Record<string, string>>, key: string, required: boolean): unknown {
    const text = metadata[key];
    if (text === undefined) {
      if (required) throw new SafetensorsError(this.file, `has no ${key} in its metadata`, 'it is not a ZipLoRA sidecar, or was written by another tool');
      return undefined;
    }
    try {
      return JSON.parse(text);
    } catch {
      return this.fail(key, 'in its metadata is not valid JSON');
    }
  }

  list(value: unknown, where: string): unknown[] {
    return Array.isArray(value) ? value : this.fail(where, 'is not a list');
  }

  object(value: unknown, where: string): Json {
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : this.fail(where, 'is not an object');
  }

  number(value: unknown, where: string): number {
    // JSON has no NaN or ∞: a report writes them as null, which the charts show as gaps.
    if (value === null) return Number.NaN;
    return typeof value === 'number' ? value : this.fail(where, `is not a number (${JSON.stringify(value)})`);
  }

  numbers(value: unknown, where: string, length?: number): number[] {
    const list = this.list(value, where).map((v, i) => this.number(v, `${where}[${i}]`));
    if (length !== undefined && list.length !== length) this.fail(where, `has ${list.length} values, expected ${length} (one per input of the layer)`);
    return list;
  }

  string(value: unknown, where: string): string {
    return typeof value === 'string' ? value : this.fail(where, 'is not a string');
  }
}

function lambdaCurve(reader: SidecarReader, value: unknown, where: string): LambdaPoint[] {
  return reader.list(value, where).map((p, i) => {
    const point = reader.object(p, `${where}[${i}]`);
    return { lambda: reader.number(point.lambda, `${where}[${i}].lambda`), error: reader.number(point.error, `${where}[${i}].error`), overlap: reader.number(point.overlap, `${where}[${i}].overlap`) };
  });
}

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

/** A format-2 layer, checked field by field (the webview draws it without further checks). */
function layerV2(reader: SidecarReader, value: unknown, where: string, inputCount: number): LayerReport {
  const layer = reader.object(value, where);
  const at = (key: string) => `${where}.${key}`;
  const inputs = reader.numbers(layer.inputs, at('inputs'));
  if (inputs.some((i) => !Number.isInteger(i) || i < 0 || i >= inputCount)) reader.fail(at('inputs'), `names an input outside 0…${inputCount - 1}`);
  const perInput = (key: string) => reader.numbers(layer[key], at(key), inputs.length);
  const method = layer.method;
  if (method !== 'zip' && method !== 'direct' && method !== 'copy') reader.fail(at('method'), `is ${JSON.stringify(method)}, expected "zip", "direct" or "copy"`);
  const pairs: PairOverlap[] = reader.list(layer.pairs, at('pairs')).map((p, i) => {
    const pair = reader.object(p, `${at('pairs')}[${i}]`);
    const field = (key: string) => reader.number(pair[key], `${at('pairs')}[${i}].${key}`);
    return { a: field('a'), b: field('b'), meanAbsCosine: field('meanAbsCosine'), overlapBefore: field('overlapBefore'), overlapAfter: field('overlapAfter') };
  });
  return {
    module: reader.string(layer.module, at('module')),
    columns: reader.number(layer.columns, at('columns')),
    method,
    inputs,
    weights: perInput('weights'),
    errors: perInput('errors'),
    directErrors: perInput('directErrors'),
    sparsity: perInput('sparsity'),
    pairs,
    normRatio: reader.number(layer.normRatio, at('normRatio')),
    steps: reader.number(layer.steps, at('steps')),
    loss: reader.number(layer.loss, at('loss')),
    lambda: reader.number(layer.lambda, at('lambda')),
    ...optional('lambdaCurve', layer.lambdaCurve === undefined ? undefined : lambdaCurve(reader, layer.lambdaCurve, at('lambdaCurve'))),
    ...optional('solver', layer.solver as LayerReport['solver']),
    ...optional('evaluations', typeof layer.evaluations === 'number' ? layer.evaluations : undefined),
    ...optional('projectedGradientNorm', typeof layer.projectedGradientNorm === 'number' ? layer.projectedGradientNorm : undefined),
    ...optional('converged', typeof layer.converged === 'boolean' ? layer.converged : undefined),
    ...optional('gap', typeof layer.gap === 'number' ? layer.gap : undefined),
    ...optional('stop', (STOP_REASONS as readonly unknown[]).includes(layer.stop) ? (layer.stop as StopReason) : undefined),
  };
}

/** A format-1 (two-way) layer as the N-way report of input 0 (content) and input 1 (style). */
function layerV1(reader: SidecarReader, value: unknown, where: string, recipe: Json): { layer: LayerReport; shares: TwoWayShares } {
  const layer = reader.object(value, where);
  const n = (key: string) => reader.number(layer[key], `${where}.${key}`);
  const direct = recipe.method === 'direct';
  // Format 1 weighted only the direct merge (directWeights); ZipLoRA merged both inputs at strength 1.
  const weights = direct && Array.isArray(recipe.directWeights) ? reader.numbers(recipe.directWeights, 'ziplora_recipe.directWeights', 2) : [1, 1];
  return {
    layer: {
      module: reader.string(layer.module, `${where}.module`),
      columns: n('columns'),
      method: direct ? 'direct' : 'zip',
      inputs: [0, 1],
      weights,
      errors: [n('contentError'), n('styleError')],
      directErrors: [n('directContentError'), n('directStyleError')],
      sparsity: [n('sparsityContent'), n('sparsityStyle')],
      pairs: [{ a: 0, b: 1, meanAbsCosine: n('meanAbsCosine'), overlapBefore: n('overlapBefore'), overlapAfter: n('overlapAfter') }],
      normRatio: n('normRatio'),
      steps: n('steps'),
      loss: n('loss'),
      lambda: typeof recipe.lambda === 'number' ? recipe.lambda : 0,
      ...optional('solver', layer.solver as LayerReport['solver']),
      ...optional('evaluations', typeof layer.evaluations === 'number' ? layer.evaluations : undefined),
      ...optional('projectedGradientNorm', typeof layer.projectedGradientNorm === 'number' ? layer.projectedGradientNorm : undefined),
      ...optional('converged', typeof layer.converged === 'boolean' ? layer.converged : undefined),
    },
    shares: { zipped: n('zipped'), bothOn: n('bothOn'), bothOff: n('bothOff') },
  };
}

function formatOf(reader: SidecarReader, metadata: Readonly<Record<string, string>>): 1 | 2 {
  const format = metadata.ziplora_format ?? '1';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new SafetensorsError(reader.file, `is a ZipLoRA sidecar of format ${format}, which this version cannot read`, 'update the ZipLoRA extension');
  }
  return format === '2' ? 2 : 1;
}

function readV1(reader: SidecarReader, metadata: Readonly<Record<string, string>>, report: unknown[]): Pick<SidecarReport, 'inputs' | 'recipe' | 'layers' | 'shares'> {
  const recipe = metadata.ziplora_recipe ? reader.object(reader.json(metadata, 'ziplora_recipe', true), 'ziplora_recipe') : {};
  const sources = metadata.ziplora_sources ? reader.list(reader.json(metadata, 'ziplora_sources', true), 'ziplora_sources') : [];
  const weights = recipe.method === 'direct' && Array.isArray(recipe.directWeights) ? recipe.directWeights : [1, 1];
  const inputs = (['content', 'style'] as const).map((role, i) => {
    const source = sources.map((s, k) => reader.object(s, `ziplora_sources[${k}]`)).find((s) => s.role === role);
    return { file: typeof source?.file === 'string' ? source.file : role, ...optional('sha256', typeof source?.sha256 === 'string' ? source.sha256 : undefined), weight: typeof weights[i] === 'number' ? weights[i] : 1 };
  });
  const shares: Record<string, TwoWayShares> = {};
  const layers = report.map((value, i) => {
    const { layer, shares: share } = layerV1(reader, value, `ziplora_report[${i}]`, recipe);
    shares[layer.module] = share;
    return layer;
  });
  return { inputs, recipe, layers, shares };
}

function readV2(reader: SidecarReader, metadata: Readonly<Record<string, string>>, report: unknown[]): Pick<SidecarReport, 'inputs' | 'recipe' | 'layers' | 'lambdaCurve'> {
  const inputs = reader.list(reader.json(metadata, 'ziplora_inputs', true), 'ziplora_inputs').map((value, i) => {
    const input = reader.object(value, `ziplora_inputs[${i}]`);
    return {
      file: reader.string(input.file, `ziplora_inputs[${i}].file`),
      ...optional('sha256', typeof input.sha256 === 'string' ? input.sha256 : undefined),
      weight: input.weight === undefined ? 1 : reader.number(input.weight, `ziplora_inputs[${i}].weight`),
    };
  });
  if (inputs.length < 2 || inputs.length > MAX_INPUTS) reader.fail('ziplora_inputs', `lists ${inputs.length} inputs, expected 2 to ${MAX_INPUTS}`);
  // What the tab shows as settings: the recipe without what is shown elsewhere (inputs, output), then the run.
  const recipe = metadata.ziplora_recipe ? reader.object(reader.json(metadata, 'ziplora_recipe', true), 'ziplora_recipe') : {};
  const run = metadata.ziplora_run ? reader.object(reader.json(metadata, 'ziplora_run', true), 'ziplora_run') : {};
  const settings = Object.fromEntries(Object.entries({ ...recipe, ...run }).filter(([key]) => !['$schema', 'inputs', 'output'].includes(key)));
  const curve = reader.json(metadata, 'ziplora_lambda_curve', false);
  return {
    inputs,
    recipe: settings,
    layers: report.map((value, i) => layerV2(reader, value, `ziplora_report[${i}]`, inputs.length)),
    ...optional('lambdaCurve', curve === undefined ? undefined : lambdaCurve(reader, curve, 'ziplora_lambda_curve')),
  };
}

/** The report of an open sidecar, either format, in the N-way shape. */
export function readSidecarReport(file: Pick<SafetensorsFile, 'path' | 'metadata'>): SidecarReport {
  const sidecar = file.path;
  const reader = new SidecarReader(sidecar);
  const { metadata } = file;
  const format = formatOf(reader, metadata);
  const report = reader.list(reader.json(metadata, 'ziplora_report', true), 'ziplora_report');
  const merged = metadata.ziplora_merged_file ?? path.basename(sidecar).replace(SIDECAR_SUFFIX, '.safetensors');
  const body = format === 2 ? readV2(reader, metadata, report) : readV1(reader, metadata, report);
  return { sidecar, mergedFile: path.join(path.dirname(sidecar), merged), format, ...body };
}

/** The coefficient tensors of a layer: `<module>.m.<i>` (format 2) or `.m_content` / `.m_style` (format 1). */
export function coefficientTensors(file: Pick<SafetensorsFile, 'has' | 'metadata'>, module: string): { input: number; tensor: string }[] {
  if ((file.metadata.ziplora_format ?? '1') === '1') return [`${module}.m_content`, `${module}.m_style`].map((tensor, input) => ({ input, tensor })).filter((t) => file.has(t.tensor));
  return Array.from({ length: MAX_INPUTS }, (_, input) => ({ input, tensor: `${module}.m.${input}` })).filter((t) => file.has(t.tensor));
}

/** One merged layer's coefficients (a few KB), by input index; an error names the layer when it has none. */
export async function readCoefficients(file: Pick<SafetensorsFile, 'path' | 'has' | 'metadata' | 'readF32'>, module: string): Promise<LayerCoefficients> {
  const tensors = coefficientTensors(file, module);
  if (!tensors.length) throw new SafetensorsError(file.path, `has no coefficients for layer "${module}"`, 'a layer that was copied from one input has none');
  return { inputs: tensors.map((t) => t.input), m: await Promise.all(tensors.map((t) => file.readF32(t.tensor))) };
}
