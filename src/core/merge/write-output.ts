/**
 * Writing a merge's two files: the merged LoRA (an ordinary LoRA of rank r_c + r_s that any loader accepts)
 * and the sidecar with the coefficients and the per-layer report. Tensors are produced one at a time from the
 * input files, so memory stays at one layer. Both files are written whole to temporary files first and renamed
 * into place together at the end: a failure or a cancel in any phase leaves the folder as it was.
 */
import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import path from 'node:path';
import { transpose } from '../linalg/gram';
import { LoraLayer } from '../lora/layer';
import { layerTensorNames, NamingScheme } from '../lora/naming';
import { OpenLora } from '../lora/open-lora';
import { familyReadIn, PairingReport } from '../lora/pairing';
import { encodeFromF32 } from '../safetensors/float';
import { stageSafetensors, StagedFile, TensorToWrite } from '../safetensors/writer';
import { TOOL_VERSION } from '../version';
import { ComputeBackend } from './backends';
import { LayerReport } from './layer-report';
import { MergeCallbacks } from './merge-callbacks';
import { readDelta } from './read-delta';
import { reduceRank } from './reduce-rank';
import { fuseSplitCopies, targetUp, transformerLayoutFor, writeTargets } from './output-layout';
import { MergePhase, MergeRequest } from './request';
import { CopiedLayer, InputRole, LeftOutTensor, tensorNamesOf as unmergedTensorNames, WriterOutcome } from './unmerged-tensors';
import { FactoredDelta } from './types';

type WritableDtype = 'F16' | 'BF16' | 'F32';

/** What the writer needs of each merged layer: its coefficients and, for ZipLoRA, its loss curve. */
export interface LayerSolution {
  readonly mContent: Float32Array;
  readonly mStyle: Float32Array;
  readonly losses: Float32Array;
}

export interface OutputJob {
  readonly request: MergeRequest;
  readonly sidecar: string;
  readonly content: OpenLora;
  readonly style: OpenLora;
  readonly pairing: PairingReport;
  readonly solutions: readonly LayerSolution[];
  readonly reports: readonly LayerReport[];
  readonly backend: ComputeBackend;
  readonly callbacks: MergeCallbacks;
  readonly started: number;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
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

function outputDtype(request: MergeRequest, layer: LoraLayer): WritableDtype {
  if (request.dtype !== 'auto') return request.dtype;
  const dtype = layer.down.dtype;
  return dtype === 'F16' || dtype === 'BF16' ? dtype : 'F32';
}

/** Tensor shapes of a layer of rank r in the file: conv layers keep their 4-D form. */
function shapes(layer: LoraLayer, rank: number): { down: number[]; up: number[] } {
  if (layer.kind === 'conv') return { down: [rank, layer.inFeatures, layer.kernel[0], layer.kernel[1]], up: [layer.outFeatures, rank, 1, 1] };
  return { down: [rank, layer.inFeatures], up: [layer.outFeatures, rank] };
}

/**
 * The merged factors of one layer: up = [s_c·B_c, s_s·B_s], down = [A_c·diag(m_c); A_s·diag(m_s)], or with
 * output-feature columns the rows of up scaled instead. Scales are folded into up, so the layer's scale is 1.
 */
function mergedFactors(content: FactoredDelta, style: FactoredDelta, solution: LayerSolution, columns: 'input' | 'output') {
  const out = content.outFeatures;
  const cols = content.inFeatures;
  const R = content.rank + style.rank;
  const up = new Float32Array(out * R);
  const down = new Float32Array(R * cols);
  const parts: [FactoredDelta, Float32Array, number][] = [[content, solution.mContent, 0], [style, solution.mStyle, content.rank]];
  for (const [delta, m, offset] of parts) {
    for (let a = 0; a < delta.rank; a++) {
      for (let j = 0; j < cols; j++) down[(offset + a) * cols + j] = delta.down[a * cols + j] * (columns === 'input' ? m[j] : 1);
      for (let i = 0; i < out; i++) up[i * R + offset + a] = delta.upTransposed[a * out + i] * delta.scale * (columns === 'output' ? m[i] : 1);
    }
  }
  return { up, down, rank: R };
}

interface MergedFactors {
  readonly up: Float32Array;
  readonly down: Float32Array;
  readonly rank: number;
  /** kohya alpha to write; absent: the rank (scale 1). */
  readonly alpha?: number;
}

/** Writes both files; returns the copied layers it had to leave out or wrote under other names (see `copy`). */
export async function writeMergeOutputs(job: OutputJob): Promise<WriterOutcome> {
  const { request, content, style, pairing, solutions, reports, callbacks } = job;
  const { scheme, source } = outputScheme(request, content, style);
  // Named in the family the pairing read it in (a diffusers file of only q/k/v/out layers: the other file's).
  const family = familyReadIn(source.lora.baseModel.family, (source === content ? style : content).lora.baseModel.family);
  const layout = transformerLayoutFor(scheme, family);
  const tensors: TensorToWrite[] = [];
  const retained: Record<string, number> = {};

  const written = new Map<string, string>();
  /** One layer's tensors under each of its targets; `factors` is read (once) when the writer reaches the first. */
  const emit = (layer: LoraLayer, module: string, rank: number, factors: () => Promise<MergedFactors>) => {
    const dtype = outputDtype(request, layer);
    for (const target of writeTargets(layer, module, layout, family)) {
      written.set(target.module, module);
      const names = layerTensorNames(target.module, scheme, family);
      const shape = shapes(layer, rank);
      if (target.rows) shape.up[0] = target.rows.count;
      tensors.push({ name: names.down, dtype, shape: shape.down, data: async () => encodeFromF32(dtype, (await factors()).down) });
      tensors.push({ name: names.up, dtype, shape: shape.up, data: async () => { const f = await factors(); return encodeFromF32(dtype, targetUp(f.up, f.rank, target)); } });
      if (names.alpha) tensors.push({ name: names.alpha, dtype, shape: [], data: async () => { const f = await factors(); return encodeFromF32(dtype, new Float32Array([f.alpha ?? f.rank])); } });
    }
  };

  pairing.paired.forEach((pair, index) => {
    const fullRank = pair.first.rank + pair.second.rank;
    const finalRank = request.rank !== undefined ? Math.min(request.rank, fullRank) : fullRank;
    let merging: Promise<MergedFactors> | undefined;
    const merged = () =>
      (merging ??= (async () => {
        const [c, s] = [await readDelta(content, pair.first), await readDelta(style, pair.second)];
        const full = mergedFactors(c, s, solutions[index], request.columns);
        if (request.rank === undefined || request.rank >= full.rank) return full;
        const reduced = reduceRank(full.up, full.down, c.outFeatures, full.rank, c.inFeatures, request.rank);
        retained[pair.module] = reduced.retainedEnergy;
        return reduced;
      })());
    // Content in split naming: the fused result is written back as ALL its parts (also those the content lacks,
    // whose rows carry the style's share). kohya: alpha = rank makes the scale 1; an old alpha would rescale the merge.
    emit(pair.first, pair.module, finalRank, merged);
  });

  const leftOut: LeftOutTensor[] = [];
  const writtenAs: CopiedLayer[] = [];
  const copy = (lora: OpenLora, layer: LoraLayer, file: InputRole) => {
    // Two unpaired layers on one weight meet in one layout (twins whose shapes did not let them pair): the first is
    // written, the other is left out and named, never written twice.
    const clash = writeTargets(layer, layer.module, layout, family).find((t) => written.has(t.module));
    if (clash) {
      const reason = `${layer.module} would be written as ${clash.module}, which already holds ${written.get(clash.module)}: the same weight, not paired with it`;
      for (const tensor of unmergedTensorNames(layer)) leftOut.push({ file, tensor, reason });
      return;
    }
    const targets = writeTargets(layer, layer.module, layout, family).map((t) => t.module);
    // A layer fused from copied split parts is listed under each part's name.
    for (const module of layer.parts ? layer.parts.map((p) => p.layer.module) : [layer.module]) {
      if (targets.length !== 1 || targets[0] !== module) writtenAs.push({ file, module, writtenAs: targets });
    }
    // Written with scale folded in as kohya alpha (alpha = scale·rank) or into up (diffusers): ΔW is unchanged.
    const foldScale = scheme !== 'kohya';
    let reading: Promise<MergedFactors> | undefined;
    const factors = () =>
      (reading ??= readDelta(lora, layer).then((delta) => ({
        down: delta.down,
        up: transpose(foldScale ? delta.upTransposed.map((v) => v * delta.scale) : delta.upTransposed, layer.rank, layer.outFeatures),
        rank: layer.rank,
        alpha: delta.scale * layer.rank,
      })));
    emit(layer, layer.module, layer.rank, factors);
  };
  for (const layer of fuseSplitCopies(pairing.onlyInFirst, layout, family)) copy(content, layer, 'content');
  for (const layer of fuseSplitCopies(pairing.onlyInSecond, layout, family)) copy(style, layer, 'style');
  // Tensors left out (non-factors of either file, refused pairs) are listed by name in the summary (unmerged-tensors.ts).

  const progress = (phase: MergePhase, done: number, total: number, detail?: string) =>
    callbacks.onProgress?.({ phase, done, total, elapsedMs: Date.now() - job.started, detail });
  progress('hashing', 0, 2, request.content);
  const contentHash = await sha256(request.content);
  callbacks.checkCancelled?.();
  progress('hashing', 1, 2, request.style);
  const styleHash = await sha256(request.style);
  callbacks.checkCancelled?.();
  const recipe = {
    method: request.method,
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
    { role: 'content', file: path.basename(request.content), sha256: contentHash },
    { role: 'style', file: path.basename(request.style), sha256: styleHash },
  ];
  const metadata = {
    ziplora_recipe: JSON.stringify(recipe),
    ziplora_sources: JSON.stringify(sources),
    ...(scheme === 'kohya' ? { ss_network_module: 'networks.lora' } : {}),
  };

  // Cancel is checked after every tensor of both files; neither file replaces anything until both are whole.
  const afterTensor = (phase: MergePhase) => (done: number, total: number) => {
    callbacks.checkCancelled?.();
    progress(phase, done + 1, total);
  };
  const writeOptions = { protect: [request.content, request.style], overwrite: request.overwrite };
  const merged = await stageSafetensors(request.output, tensors, metadata, { ...writeOptions, onTensorWritten: afterTensor('writing') });

  const sidecarTensors: TensorToWrite[] = [];
  pairing.paired.forEach((pair, i) => {
    const f32 = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    sidecarTensors.push({ name: `${pair.module}.m_content`, dtype: 'F32', shape: [solutions[i].mContent.length], data: f32(solutions[i].mContent) });
    sidecarTensors.push({ name: `${pair.module}.m_style`, dtype: 'F32', shape: [solutions[i].mStyle.length], data: f32(solutions[i].mStyle) });
    if (solutions[i].losses.length) sidecarTensors.push({ name: `${pair.module}.loss`, dtype: 'F32', shape: [solutions[i].losses.length], data: f32(solutions[i].losses) });
  });
  const report = reports.map((r) => (retained[r.module] !== undefined ? { ...r, retainedEnergy: retained[r.module] } : r));
  let sidecarFile: StagedFile;
  try {
    sidecarFile = await stageSafetensors(job.sidecar, sidecarTensors, { ...metadata, ziplora_report: JSON.stringify(report), ziplora_merged_file: path.basename(request.output) }, { ...writeOptions, onTensorWritten: afterTensor('writing-sidecar') });
  } catch (error) {
    await merged.discard();
    throw error;
  }
  // Two renames in a row, synchronously: a cancel or a parent's disconnect cannot fall between them.
  merged.commit();
  try {
    sidecarFile.commit();
  } catch (error) {
    rmSync(request.output, { force: true });
    throw error;
  }
  return { leftOut, writtenAs };
}
