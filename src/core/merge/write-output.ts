/**
 * Writing a merge's two files: the merged LoRA (an ordinary LoRA of rank Σ r_i that any loader accepts)
 * and the sidecar (format 2) with the coefficients and the per-layer report. The merged layers arrive from the compute
 * threads already encoded and are written in file order as they come, so the inputs are read once; the header,
 * which names the inputs' hashes, is written last. Both files are written whole to temporary files first and
 * renamed into place together at the end: a failure or a cancel in any phase leaves the folder as it was.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { NamingScheme } from '../lora/naming';
import { OpenLora } from '../lora/open-lora';
import { encodeFromF32 } from '../safetensors/float';
import { stageSafetensors, StagedFile, TensorToWrite } from '../safetensors/writer';
import { TOOL_VERSION } from '../version';
import { untilAborted } from './cancellation';
import { LayerReport } from './layer-report';
import { LayerOutput } from './layer-job';
import { MergeCallbacks } from './merge-callbacks';
import { targetUp } from './output-layout';
import { OutputPlan, PlannedCopy, PlannedLayer } from './output-plan';
import { readDelta } from './read-delta';
import { MergePhase, MergeRequest, RecipeObject } from './request';
import { DEFAULT_NEWTON_SETTINGS } from './projected-newton';
import { requestToRecipe } from './recipe';
import { upOf } from './types';

/** What the sidecar stores of each merged layer: each present input's coefficients and, when solved, the loss curve. */
export interface LayerSolution {
  readonly module: string;
  /** 0-based request indices of the inputs present, one per entry of `m`. */
  readonly inputs: readonly number[];
  readonly m: readonly Float32Array[];
  readonly losses: Float32Array;
}

/** The sidecar format this writer writes: 2 is N-way (`<module>.m.<i>`); 1 was two-way (m_content, m_style). */
export const SIDECAR_FORMAT = '2';

/** What every phase of the writer is told: whom to report to, and the merge's one cancellation token. */
export interface WriterContext {
  readonly request: MergeRequest;
  readonly callbacks: MergeCallbacks;
  readonly started: number;
  /** Aborted on a cancel or on a failure anywhere in the merge; checked before and after every tensor. */
  readonly signal: AbortSignal;
}

export interface MergedFileJob extends WriterContext {
  /** Every layer's targets, tensor names and shapes, in file order (output-plan.ts). */
  readonly plan: OutputPlan;
  /** The inputs, in request order: copied layers are read from them. */
  readonly inputs: readonly OpenLora[];
  /** Paired layer `index`, merged and encoded; awaited in file order. */
  readonly layerOutput: (index: number) => Promise<LayerOutput>;
  /** Called once the writer holds the last of layer `index`'s bytes it needs. */
  readonly layerWritten: (index: number) => void;
  /** sha256 of every input, computed while the merge runs. */
  readonly hashes: Promise<readonly string[]>;
  readonly backend: { readonly name: string; readonly device: string };
}

/**
 * The recipe that re-creates the merge: the one it was run from (its keys as written), else the request's own;
 * either way with the paths relative to the merged file's folder (recipe.ts), so that the recipe
 * `ziplora recipe MERGED` prints works saved beside the merged file, wherever the recipe file was.
 */
export function recipeMetadata(request: MergeRequest): RecipeObject {
  const own = requestToRecipe(request, path.dirname(path.resolve(request.output)));
  return request.recipe ? { ...request.recipe, inputs: own.inputs, output: own.output } : own;
}

/** How the merge was run (not needed to re-create it): backend, device, tool version and the solver's fixed settings. */
function runMetadata(job: MergedFileJob): Record<string, unknown> {
  const { request } = job;
  return {
    backend: job.backend.name,
    device: job.backend.device,
    tool: 'ziplora-vscode',
    version: TOOL_VERSION,
    ...(request.method === 'ziplora' && request.solver === 'newton' ? { newton: DEFAULT_NEWTON_SETTINGS } : {}),
    sparsityThreshold: request.sparsityThreshold,
  };
}

function metadataOf(job: MergedFileJob, hashes: readonly string[]): Record<string, string> {
  const { request } = job;
  const inputs = request.inputs.map((input, i) => ({ file: path.basename(input.path), sha256: hashes[i], weight: input.weight }));
  return {
    ziplora_recipe: JSON.stringify(recipeMetadata(request)),
    ziplora_inputs: JSON.stringify(inputs),
    ziplora_run: JSON.stringify(runMetadata(job)),
    ...(job.plan.scheme === 'kohya' ? { ss_network_module: 'networks.lora' } : {}),
  };
}

/** The progress of one of the writer's phases, with the time since the merge started. */
function reporter(context: WriterContext) {
  return (phase: MergePhase, done: number, total: number, detail?: string) => context.callbacks.onProgress?.({ phase, done, total, elapsedMs: Date.now() - context.started, detail });
}

/** What writing the merged file leaves for the sidecar. */
export interface MergedFileOutcome {
  readonly metadata: Record<string, string>;
  /** The merged file, written whole to its temporary path; `writeSidecar` puts it in place with the sidecar. */
  readonly staged: StagedFile;
}

type TensorBytes = (part: 'down' | 'up' | 'alpha', target: number, last: boolean) => Promise<Uint8Array>;

/**
 * One planned layer's tensors under each of its targets (down, up, and for kohya naming alpha); `bytes` gives a
 * tensor's encoded data, told whether it is the layer's last tensor in the file. `rankOf`, for a layer whose rank
 * is picked from its data (`--rank-energy`), gives that rank once its bytes are there: the shapes are then final.
 */
function layerTensors(planned: PlannedLayer, bytes: TensorBytes, rankOf?: () => number): TensorToWrite[] {
  return planned.targets.flatMap(({ names, shape }, t) => {
    const final = t === planned.targets.length - 1;
    const { dtype } = planned;
    const withRank = (dims: readonly number[], axis: number) => (rankOf ? { actualShape: () => dims.map((d, i) => (i === axis ? rankOf() : d)) } : {});
    return [
      { name: names.down, dtype, shape: shape.down, data: () => bytes('down', t, false), ...withRank(shape.down, 0) },
      { name: names.up, dtype, shape: shape.up, data: () => bytes('up', t, final && !names.alpha), ...withRank(shape.up, 1) },
      // kohya: alpha = rank makes a merged layer's scale 1; an old alpha kept would silently rescale the merge.
      ...(names.alpha ? [{ name: names.alpha, dtype, shape: [], data: () => bytes('alpha', t, final) }] : []),
    ];
  });
}

/** A merged layer's tensors, their bytes encoded by its compute thread for exactly the plan's targets. */
function mergedTensors(job: MergedFileJob, planned: PlannedLayer, index: number): TensorToWrite[] {
  let rank = planned.rank;
  const bytes: TensorBytes = async (part, t, last) => {
    const output = await job.layerOutput(index);
    rank = output.rank;
    if (last) job.layerWritten(index);
    return part === 'down' ? output.down : part === 'up' ? output.ups[t] : output.alpha;
  };
  return layerTensors(planned, bytes, planned.rankFromData ? () => rank : undefined);
}

/**
 * A copied layer's bytes, read once, with its scale and its input's weight folded in as kohya alpha
 * (alpha = weight·scale·rank) or into up (diffusers): ΔW is the input's, times its weight (1: unchanged).
 */
function copiedBytes(planned: PlannedCopy, lora: OpenLora, scheme: NamingScheme): TensorBytes {
  const { layer, targets, dtype, weight } = planned;
  const foldScale = scheme !== 'kohya';
  let reading: Promise<{ down: Float32Array; up: Float32Array; alpha: number }> | undefined;
  const factors = () =>
    (reading ??= readDelta(lora.file, layer).then((delta) => {
      const scale = weight === 1 ? delta.scale : delta.scale * weight;
      return {
        down: delta.down,
        up: foldScale ? upOf(delta).map((v) => v * scale) : upOf(delta),
        alpha: scale * layer.rank,
      };
    }));
  return async (part, t) => {
    const f = await factors();
    return encodeFromF32(dtype, part === 'down' ? f.down : part === 'up' ? targetUp(f.up, layer.rank, targets[t]) : new Float32Array([f.alpha]));
  };
}

/**
 * Writes the merged LoRA to its temporary file as the plan lays it out: the paired layers as the compute threads
 * deliver them, then the copied ones. Tensors left out (non-factors of either file, refused pairs) are listed by
 * name in the summary (unmerged-tensors.ts).
 */
export async function writeMergedFile(job: MergedFileJob): Promise<MergedFileOutcome> {
  const { request, plan, signal } = job;
  const tensors = [
    ...plan.merged.flatMap((planned, index) => mergedTensors(job, planned, index)),
    ...plan.copied.flatMap((planned) => layerTensors(planned, copiedBytes(planned, job.inputs[planned.from], plan.scheme))),
  ];
  // The hashes are hex digests of fixed length: placeholders of that length give the header its final size.
  const placeholder = '0'.repeat(64);
  let metadata = metadataOf(job, request.inputs.map(() => placeholder));
  const progress = reporter(job);
  // The inputs were hashed while the layers were solved and written; what is left of it is waited for here.
  const lateMetadata = async () => {
    signal.throwIfAborted();
    progress('hashing', 0, 1, request.inputs.map((input) => path.basename(input.path)).join(', '));
    const hashes = await untilAborted(job.hashes, signal);
    return (metadata = metadataOf(job, hashes));
  };
  const onTensorWritten = (done: number, total: number) => progress('writing', done + 1, total);
  const staged = await stageSafetensors(request.output, tensors, metadata, { protect: request.inputs.map((input) => input.path), overwrite: request.overwrite, signal, onTensorWritten, lateMetadata });
  return { metadata, staged };
}

export interface SidecarJob extends WriterContext {
  readonly sidecar: string;
  /** The merged file, written whole and not yet in place. */
  readonly merged: StagedFile;
  /** The merged file's metadata, repeated in the sidecar. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly solutions: readonly LayerSolution[];
  /** The per-layer reports, with the retained energy where the rank was reduced. */
  readonly reports: readonly (LayerReport & { readonly retainedEnergy?: number })[];
  /** With `lambda: auto`: the path's errors summed over the layers and their mean overlap (lambda-path.ts). */
  readonly lambdaCurve?: readonly { readonly lambda: number; readonly error: number; readonly overlap: number }[];
}

/** The sidecar's tensors: each merged layer's coefficients, `<module>.m.<i>` per present input i, and its loss curve. */
function sidecarTensors(solutions: readonly LayerSolution[]): TensorToWrite[] {
  const f32 = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return solutions.flatMap(({ module, inputs, m, losses }) => [
    ...m.map((values, k) => ({ name: `${module}.m.${inputs[k]}`, dtype: 'F32' as const, shape: [values.length], data: f32(values) })),
    ...(losses.length ? [{ name: `${module}.loss`, dtype: 'F32' as const, shape: [losses.length], data: f32(losses) }] : []),
  ]);
}

/**
 * Writes the sidecar after the merged file, then puts both in place; if the sidecar fails or the merge is
 * cancelled before the renames, the staged merged file is thrown away, so an earlier output stays as it was.
 */
export async function writeSidecar(job: SidecarJob): Promise<void> {
  const { request, reports, signal } = job;
  const progress = reporter(job);
  const onTensorWritten = (done: number, total: number) => progress('writing-sidecar', done + 1, total);
  // Two renames in a row, synchronously: a cancel or a parent's disconnect cannot fall between them. The sidecar
  // goes first, so that if a rename fails an earlier merged LoRA (the file that matters) is never lost: the
  // sidecar's failing (or its write's) leaves both old files; the merged file's failing removes the new sidecar.
  try {
    const metadata = {
      ...job.metadata,
      ziplora_format: SIDECAR_FORMAT,
      ziplora_run: JSON.stringify({ ...(JSON.parse(job.metadata.ziplora_run) as object), seconds: (Date.now() - job.started) / 1000 }),
      ziplora_report: JSON.stringify(reports),
      ziplora_merged_file: path.basename(request.output),
      ...(job.lambdaCurve ? { ziplora_lambda_curve: JSON.stringify(job.lambdaCurve) } : {}),
    };
    const options = { protect: request.inputs.map((input) => input.path), overwrite: request.overwrite, signal, onTensorWritten };
    const sidecarFile = await stageSafetensors(job.sidecar, sidecarTensors(job.solutions), metadata, options);
    if (signal.aborted) await sidecarFile.discard();
    signal.throwIfAborted();
    sidecarFile.commit();
  } catch (error) {
    await job.merged.discard();
    throw error;
  }
  try {
    job.merged.commit();
  } catch (error) {
    rmSync(job.sidecar, { force: true });
    throw error;
  }
}
