/**
 * Writing a merge's two files: the merged LoRA (an ordinary LoRA of rank r_c + r_s that any loader accepts)
 * and the sidecar with the coefficients and the per-layer report. The merged layers arrive from the compute
 * threads already encoded and are written in file order as they come, so the inputs are read once; the header,
 * which names the inputs' hashes, is written last. Both files are written whole to temporary files first and
 * renamed into place together at the end: a failure or a cancel in any phase leaves the folder as it was.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { transpose } from '../linalg/gram';
import { LoraLayer } from '../lora/layer';
import { layerTensorNames, NamingScheme } from '../lora/naming';
import { OpenLora } from '../lora/open-lora';
import { BaseModelFamily } from '../lora/families';
import { familyReadIn, PairingReport } from '../lora/pairing';
import { TransformerNaming } from '../lora/transformer-names';
import { encodeFromF32 } from '../safetensors/float';
import { stageSafetensors, StagedFile, TensorToWrite } from '../safetensors/writer';
import { TOOL_VERSION } from '../version';
import { LayerReport } from './layer-report';
import { LayerOutput } from './layer-job';
import { MergeCallbacks } from './merge-callbacks';
import { outputDtype, tensorShapes } from './merged-tensors';
import { fuseSplitCopies, targetUp, transformerLayoutFor, WriteTarget, writeTargets } from './output-layout';
import { CopiedLayer, InputRole, LeftOutTensor, tensorNamesOf as unmergedTensorNames, WriterOutcome } from './unmerged-tensors';
import { readDelta } from './read-delta';
import { MergePhase, MergeRequest } from './request';
import { DEFAULT_NEWTON_SETTINGS } from './projected-newton';

/** What the sidecar stores of each merged layer: its coefficients and, for ZipLoRA, its loss curve. */
export interface LayerSolution {
  readonly mContent: Float32Array;
  readonly mStyle: Float32Array;
  readonly losses: Float32Array;
}

export interface MergedFileJob {
  readonly request: MergeRequest;
  readonly content: OpenLora;
  readonly style: OpenLora;
  readonly pairing: PairingReport;
  /** Paired layer `index`, merged and encoded; awaited in file order. */
  readonly layerOutput: (index: number) => Promise<LayerOutput>;
  /** Called once the writer holds the last of layer `index`'s bytes it needs. */
  readonly layerWritten: (index: number) => void;
  /** sha256 of the content and the style file, computed while the merge runs. */
  readonly hashes: Promise<readonly [string, string]>;
  readonly backend: { readonly name: string; readonly device: string };
  readonly callbacks: MergeCallbacks;
  readonly started: number;
}

function outputScheme(request: MergeRequest, content: OpenLora, style: OpenLora): { scheme: NamingScheme; source: OpenLora } {
  switch (request.naming) {
    case 'kohya':
    case 'diffusers':
      return { scheme: request.naming, source: content };
    case 'style':
      return { scheme: style.lora.scheme === 'kohya' ? 'kohya' : 'diffusers', source: style };
    default:
      return { scheme: content.lora.scheme === 'kohya' ? 'kohya' : 'diffusers', source: content };
  }
}

export interface OutputNaming {
  readonly scheme: NamingScheme;
  /** The family whose module names the file uses: the one the pairing read the naming's file in. */
  readonly family: BaseModelFamily;
  /** The one transformer layout of the file (output-layout.ts), for a family with a naming table. */
  readonly layout: TransformerNaming | undefined;
}

/** How the merged file names its layers; the pipeline (what a compute thread builds) and the writer agree on it. */
export function outputNaming(request: MergeRequest, content: OpenLora, style: OpenLora): OutputNaming {
  const { scheme, source } = outputScheme(request, content, style);
  // Named in the family the pairing read it in (a diffusers file of only q/k/v/out layers: the other file's).
  const family = familyReadIn(source.lora.baseModel.family, (source === content ? style : content).lora.baseModel.family);
  return { scheme, family, layout: transformerLayoutFor(scheme, family) };
}

function metadataOf(job: MergedFileJob, scheme: NamingScheme, hashes: readonly [string, string]): Record<string, string> {
  const { request } = job;
  const recipe = {
    method: request.method,
    ...(request.method === 'ziplora' ? { solver: request.solver, ...(request.solver === 'newton' ? { newton: DEFAULT_NEWTON_SETTINGS } : {}) } : {}),
    steps: request.method === 'ziplora' ? request.steps : 0,
    lambda: request.lambda,
    lr: request.learningRate,
    columns: request.columns,
    directWeights: request.directWeights,
    sparsityThreshold: request.sparsityThreshold,
    rank: request.rank ?? null,
    backend: job.backend.name,
    device: job.backend.device,
    tool: 'ziplora-vscode',
    version: TOOL_VERSION,
  };
  const sources = [
    { role: 'content', file: path.basename(request.content), sha256: hashes[0] },
    { role: 'style', file: path.basename(request.style), sha256: hashes[1] },
  ];
  return {
    ziplora_recipe: JSON.stringify(recipe),
    ziplora_sources: JSON.stringify(sources),
    ...(scheme === 'kohya' ? { ss_network_module: 'networks.lora' } : {}),
  };
}

/** The progress of one of the writer's phases, with the time since the merge started. */
function reporter(callbacks: MergeCallbacks, started: number) {
  return (phase: MergePhase, done: number, total: number, detail?: string) => callbacks.onProgress?.({ phase, done, total, elapsedMs: Date.now() - started, detail });
}

/** What writing the merged file leaves for the summary and the sidecar. */
export interface MergedFileOutcome extends WriterOutcome {
  readonly metadata: Record<string, string>;
  /** The merged file, written whole to its temporary path; `writeSidecar` puts it in place with the sidecar. */
  readonly staged: StagedFile;
}

/**
 * Writes the merged LoRA to its temporary file: the paired layers as the compute threads deliver them, then the
 * copied ones, every layer under its targets in the file's one layout (output-layout.ts).
 */
export async function writeMergedFile(job: MergedFileJob): Promise<MergedFileOutcome> {
  const { request, content, style, pairing, callbacks } = job;
  const { scheme, family, layout } = outputNaming(request, content, style);
  const tensors: TensorToWrite[] = [];
  /** Target module → the module written there, so two layers never land on one weight. */
  const written = new Map<string, string>();

  /**
   * One layer's tensors under each of its targets (down, up, and for kohya naming alpha); `bytes` gives a tensor's
   * encoded data, told whether it is the layer's last tensor in the file.
   */
  const emit = (layer: LoraLayer, owner: string, rank: number, targets: readonly WriteTarget[], bytes: (part: 'down' | 'up' | 'alpha', t: number, last: boolean) => Promise<Uint8Array>) => {
    const dtype = outputDtype(request, layer);
    targets.forEach((target, t) => {
      written.set(target.module, owner);
      const names = layerTensorNames(target.module, scheme, family);
      const shape = tensorShapes(layer, rank);
      if (target.rows) shape.up[0] = target.rows.count;
      const final = t === targets.length - 1;
      tensors.push({ name: names.down, dtype, shape: shape.down, data: () => bytes('down', t, false) });
      tensors.push({ name: names.up, dtype, shape: shape.up, data: () => bytes('up', t, final && !names.alpha) });
      // kohya: alpha = rank makes a merged layer's scale 1; an old alpha kept would silently rescale the merge.
      if (names.alpha) tensors.push({ name: names.alpha, dtype, shape: [], data: () => bytes('alpha', t, final) });
    });
  };

  pairing.paired.forEach((pair, index) => {
    const fullRank = pair.first.rank + pair.second.rank;
    const finalRank = request.rank !== undefined ? Math.min(request.rank, fullRank) : fullRank;
    // The same targets the compute thread cut the merged up for (pipeline.ts), in the same order; encoded there.
    emit(pair.first, pair.module, finalRank, writeTargets(pair.first, pair.module, layout, family), async (part, t, last) => {
      const output = await job.layerOutput(index);
      if (last) job.layerWritten(index);
      return part === 'down' ? output.down : part === 'up' ? output.ups[t] : output.alpha;
    });
  });

  const leftOut: LeftOutTensor[] = [];
  const writtenAs: CopiedLayer[] = [];
  const copy = (lora: OpenLora, layer: LoraLayer, file: InputRole) => {
    const targets = writeTargets(layer, layer.module, layout, family);
    // Two unpaired layers on one weight meet in one layout (twins whose shapes did not let them pair): the first is
    // written, the other is left out and named, never written twice.
    const clash = targets.find((t) => written.has(t.module));
    if (clash) {
      const reason = `${layer.module} would be written as ${clash.module}, which already holds ${written.get(clash.module)}: the same weight, not paired with it`;
      for (const tensor of unmergedTensorNames(layer)) leftOut.push({ file, tensor, reason });
      return;
    }
    // A layer fused from copied split parts is listed under each part's name.
    const modules = targets.map((t) => t.module);
    for (const module of layer.parts ? layer.parts.map((p) => p.layer.module) : [layer.module]) {
      if (modules.length !== 1 || modules[0] !== module) writtenAs.push({ file, module, writtenAs: modules });
    }
    const dtype = outputDtype(request, layer);
    // Written with scale folded in as kohya alpha (alpha = scale·rank) or into up (diffusers): ΔW is unchanged.
    const foldScale = scheme !== 'kohya';
    let reading: Promise<{ down: Float32Array; up: Float32Array; alpha: number }> | undefined;
    const factors = () =>
      (reading ??= readDelta(lora.file, layer).then((delta) => ({
        down: delta.down,
        up: transpose(foldScale ? delta.upTransposed.map((v) => v * delta.scale) : delta.upTransposed, layer.rank, layer.outFeatures),
        alpha: delta.scale * layer.rank,
      })));
    emit(layer, layer.module, layer.rank, targets, async (part, t) => {
      const f = await factors();
      return encodeFromF32(dtype, part === 'down' ? f.down : part === 'up' ? targetUp(f.up, layer.rank, targets[t]) : new Float32Array([f.alpha]));
    });
  };
  for (const layer of fuseSplitCopies(pairing.onlyInFirst, layout, family)) copy(content, layer, 'content');
  for (const layer of fuseSplitCopies(pairing.onlyInSecond, layout, family)) copy(style, layer, 'style');
  // Tensors left out (non-factors of either file, refused pairs) are listed by name in the summary (unmerged-tensors.ts).

  // The hashes are hex digests of fixed length: placeholders of that length give the header its final size.
  const placeholder = '0'.repeat(64);
  let metadata = metadataOf(job, scheme, [placeholder, placeholder]);
  const progress = reporter(callbacks, job.started);
  const onTensorWritten = (done: number, total: number) => {
    callbacks.checkCancelled?.();
    progress('writing', done + 1, total);
  };
  // The inputs were hashed while the layers were solved and written; what is left of it is waited for here.
  const lateMetadata = async () => {
    callbacks.checkCancelled?.();
    progress('hashing', 0, 1, `${path.basename(request.content)}, ${path.basename(request.style)}`);
    const hashes = await job.hashes;
    callbacks.checkCancelled?.();
    return (metadata = metadataOf(job, scheme, hashes));
  };
  const staged = await stageSafetensors(request.output, tensors, metadata, { protect: [request.content, request.style], overwrite: request.overwrite, onTensorWritten, lateMetadata });
  return { leftOut, writtenAs, metadata, staged };
}

export interface SidecarJob {
  readonly request: MergeRequest;
  readonly sidecar: string;
  readonly pairing: PairingReport;
  /** The merged file, written whole and not yet in place. */
  readonly merged: StagedFile;
  /** The merged file's metadata, repeated in the sidecar. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly solutions: readonly LayerSolution[];
  /** The per-layer reports, with the retained energy where the rank was reduced. */
  readonly reports: readonly (LayerReport & { readonly retainedEnergy?: number })[];
  readonly callbacks: MergeCallbacks;
  readonly started: number;
}

/**
 * Writes the sidecar after the merged file, then puts both in place; if the sidecar fails, the staged merged
 * file is thrown away, so an earlier output stays as it was.
 */
export async function writeSidecar(job: SidecarJob): Promise<void> {
  const { request, pairing, solutions, reports } = job;
  const sidecarTensors: TensorToWrite[] = [];
  pairing.paired.forEach((pair, i) => {
    const f32 = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    sidecarTensors.push({ name: `${pair.module}.m_content`, dtype: 'F32', shape: [solutions[i].mContent.length], data: f32(solutions[i].mContent) });
    sidecarTensors.push({ name: `${pair.module}.m_style`, dtype: 'F32', shape: [solutions[i].mStyle.length], data: f32(solutions[i].mStyle) });
    if (solutions[i].losses.length) sidecarTensors.push({ name: `${pair.module}.loss`, dtype: 'F32', shape: [solutions[i].losses.length], data: f32(solutions[i].losses) });
  });
  const progress = reporter(job.callbacks, job.started);
  // Cancel is checked after every tensor; neither file replaces anything until both are whole.
  const onTensorWritten = (done: number, total: number) => {
    job.callbacks.checkCancelled?.();
    progress('writing-sidecar', done + 1, total);
  };
  // Two renames in a row, synchronously: a cancel or a parent's disconnect cannot fall between them. The sidecar
  // goes first, so that if a rename fails an earlier merged LoRA (the file that matters) is never lost: the
  // sidecar's failing (or its write's) leaves both old files; the merged file's failing removes the new sidecar.
  try {
    const metadata = { ...job.metadata, ziplora_report: JSON.stringify(reports), ziplora_merged_file: path.basename(request.output) };
    const sidecarFile = await stageSafetensors(job.sidecar, sidecarTensors, metadata, { protect: [request.content, request.style], overwrite: request.overwrite, onTensorWritten });
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
