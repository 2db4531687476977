/**
 * A whole merge, start to finish: open the 2 to 8 LoRAs, group their layers (merge-groups.ts) and apply the weights
 * and block rules (weighted-groups.ts), plan the merged file (output-plan.ts), then read, solve and write the merged
 * layers as a stream — the main thread reads a batch's factor bytes and hands them to a compute thread
 * (compute-pool.ts), which solves (ZipLoRA) or only measures (direct) and returns the merged layer encoded for the
 * plan's targets; the writer writes the plan's tensors in file order as they arrive, while the inputs are hashed.
 * It runs in the worker process; the callbacks carry progress out, and one AbortSignal (cancellation.ts) carries a
 * cancel in.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { mixedExpertsProblem } from './experts';
import { openLora, OpenLora } from '../lora/open-lora';
import { InputWatch } from '../input-change';
import { asFileError } from '../safetensors/errors';
import { checkWritableTarget } from '../safetensors/writer';
import { byteLengthOf } from '../safetensors/dtypes';
import { MergeStop } from './cancellation';
import { ComputePool, threadCount } from './compute-pool';
import { LayerJob, LayerOutput, readLayerBytes } from './layer-job';
import { LayerFlow } from './layer-flow';
import { summedLambdaCurve } from './lambda-path';
import { LayerReport, reportFromResult } from './layer-report';
import { fitMergeToMemory, problemShape } from './memory-fit';
import { MergeCallbacks } from './merge-callbacks';
import { groupLayers, GroupingError } from './merge-groups';
import { OutputPlan, planOutput, PlannedLayer } from './output-plan';
import { RemainingTime } from './remaining-time';
import { MergeRequest, MergeStart, MergeSummary, sidecarPathFor } from './request';
import { unmergedTensors } from './unmerged-tensors';
import { BlockRuleError, MergedGroup, WeightedGroups, weighGroups } from './weighted-groups';
import { LayerSolution, writeMergedFile, writeSidecar } from './write-output';
import { BatchSettings, ProblemShape, multiplyAddsPerStep, planBatches } from './ziplora-solver';

export class MergeError extends Error {
  override name = 'MergeError';
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

/** Bytes read per step of hashing: one buffer, reused, for the whole file. */
const HASH_CHUNK = 4 * 2 ** 20;

/**
 * An input's sha256, read through a file handle into one reused buffer (no allocation or stream per chunk); a
 * failure to read it is named after that input, not after the output being written.
 */
async function sha256(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(file, 'r');
    const buffer = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      signal.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } catch (error) {
    throw signal.aborted ? signal.reason : asFileError(error, file);
  } finally {
    // Read-only: a failed close loses nothing, and must not hide the read's own outcome.
    await handle?.close().catch(() => undefined);
  }
  return hash.digest('hex');
}

/** Layers read ahead per compute thread: enough to keep every thread busy while the writer catches up. */
const LAYERS_AHEAD_PER_THREAD = 2;

/** Refuses a merge whose outputs would overwrite something they must not, or whose inputs repeat a file. */
async function checkTargets(request: MergeRequest, sidecar: string): Promise<void> {
  const inputs = request.inputs.map((input) => input.path);
  await checkWritableTarget(request.output, { protect: inputs, overwrite: request.overwrite });
  await checkWritableTarget(sidecar, { protect: inputs, overwrite: request.overwrite });
  inputs.forEach((file, i) => {
    const twin = inputs.findIndex((other, k) => k < i && path.resolve(other) === path.resolve(file));
    if (twin < 0) return;
    // Two inputs keep the two-file wording.
    if (inputs.length === 2) throw new MergeError(`content and style are the same file (${file}): choose two different LoRAs`);
    throw new MergeError(`input ${twin + 1} and input ${i + 1} are the same file (${file}): choose different LoRAs`);
  });
}

/** The inputs' layers grouped and weighed; a grouping or block-rule problem is the merge's error. */
function groupInputs(request: MergeRequest, loras: readonly OpenLora[]): WeightedGroups {
  const experts = request.allowMixedExperts ? undefined : mixedExpertsProblem(loras.map((lora, i) => ({ name: path.basename(request.inputs[i].path), baseModel: lora.lora.baseModel })));
  if (experts) throw new MergeError(experts);
  try {
    const grouping = groupLayers(loras.map((lora, i) => ({ name: path.basename(request.inputs[i].path), layers: lora.lora.layers, baseModel: lora.lora.baseModel })));
    return weighGroups(grouping, request);
  } catch (error) {
    if (error instanceof GroupingError || error instanceof BlockRuleError) throw new MergeError(error.message);
    throw error;
  }
}

function startOf(pool: ComputePool, request: MergeRequest, groups: WeightedGroups): MergeStart {
  const { backend } = pool;
  return {
    backend: backend.name,
    device: backend.device,
    skipped: backend.skipped,
    inputs: request.inputs.map((input) => path.basename(input.path)),
    merged: groups.merged.length,
    copied: request.inputs.map((_, i) => groups.copied.filter((c) => c.member.input === i).length),
    notWritten: groups.skipped.length,
    refused: groups.refused.map((r) => ({ module: r.module, reason: r.reason })),
    threads: pool.size,
  };
}

/**
 * Runs a merge. `signal` cancels it: every phase stops, the compute threads are terminated and nothing is
 * written (the staged files are discarded); the merge then rejects with the signal's reason.
 */
export async function runMerge(request: MergeRequest, callbacks: MergeCallbacks = {}, signal?: AbortSignal): Promise<MergeSummary> {
  const started = Date.now();
  const sidecar = sidecarPathFor(request.output);
  await checkTargets(request, sidecar);
  const stop = new MergeStop(signal);
  const files = request.inputs.map((input) => input.path);
  // The inputs' identities, before any is opened: a change by the end of the reads fails the merge.
  const inputWatch = await InputWatch.start(files);
  const loras: OpenLora[] = [];
  let pool: ComputePool | undefined;
  try {
    for (const file of files) loras.push(await openLora(file));
    const groups = groupInputs(request, loras);
    // Planned once, before any layer is solved: the threads and the writer both follow this plan.
    const plan = planOutput(request, loras, groups);
    // Hashed from the start, alongside the work; the merged file's header, which names them, is written last.
    const hashes = Promise.all(files.map((file) => sha256(file, stop.signal)));
    hashes.catch(() => undefined);
    // The direct merge needs no optimisation, but its report is measured on the same backend.
    // Fewer threads, or a refusal, where the machine lacks the memory this merge needs (memory-fit.ts).
    const { threads } = fitMergeToMemory(request, groups.merged, threadCount(request.threads), LAYERS_AHEAD_PER_THREAD);
    pool = await ComputePool.start(request.backend, threads);
    stop.signal.throwIfAborted();
    callbacks.onStart?.(startOf(pool, request, groups));
    const context: MergeContext = { request, loras, groups, plan, pool, callbacks, started, hashes, stop };
    const merged = await mergeLayers(context);
    const { reports, retained } = merged;
    // Every input byte is read: a changed input fails the merge before anything is put in place.
    await inputWatch.checkUnchanged(() => merged.staged.discard());
    const sidecarReports = reports.map((r) => (retained[r.module] !== undefined ? { ...r, retainedEnergy: retained[r.module] } : r));
    // The merge's λ curve (lambda-path.ts): errors summed over the layers, overlap their mean; none without a path.
    const curve = request.lambda === 'auto' ? summedLambdaCurve(reports.map((r) => r.lambdaCurve)) : [];
    const lambdaCurve = curve.length ? curve : undefined;
    await writeSidecar({ request, sidecar, merged: merged.staged, metadata: merged.metadata, solutions: merged.solutions, reports: sidecarReports, lambdaCurve, callbacks, started, signal: stop.signal });
    return summaryOf(context, merged, sidecar, lambdaCurve);
  } catch (error) {
    // Every phase stops (the hashing included); a failure caused by an input changing under the reads is
    // reported as that change (a cancel stays a cancel).
    stop.stop(error);
    throw await inputWatch.explain(error, signal?.aborted === true);
  } finally {
    await pool?.close();
    for (const lora of loras) await lora.file.close();
  }
}

/** Bytes of a planned layer's tensors at rank `rank` (down, up and alpha of every target). */
function layerBytes(planned: PlannedLayer, rank: number): number {
  const perValue = byteLengthOf(planned.dtype, 1) ?? 4;
  return planned.targets.reduce((sum, t) => {
    const down = t.shape.down.reduce((a, b) => a * b, 1) / planned.rank;
    const up = t.shape.up.reduce((a, b) => a * b, 1) / planned.rank;
    return sum + (down + up) * rank * perValue + (t.names.alpha ? perValue : 0);
  }, 0);
}

/** The merged file's size, and what it would be at rank Σ r_i (more than the size where `rank`/`rankEnergy` cut it). */
function fileSizes(context: MergeContext, ranks: readonly number[]): { fileBytes: number; exactFileBytes: number } {
  const fileBytes = statSync(context.request.output).size;
  const cut = context.plan.merged.reduce((sum, planned, i) => sum + layerBytes(planned, planned.exactRank) - layerBytes(planned, ranks[i]), 0);
  return { fileBytes, exactFileBytes: fileBytes + cut };
}

/** Per input, the mean of `pick` over the merged layers it is in. */
function meanPerInput(reports: readonly LayerReport[], inputs: number, pick: (r: LayerReport) => readonly number[]): number[] {
  return Array.from({ length: inputs }, (_, input) => mean(reports.flatMap((r) => (r.inputs.includes(input) ? [pick(r)[r.inputs.indexOf(input)]] : []))));
}

function summaryOf(context: MergeContext, merged: MergedLayers, sidecar: string, lambdaCurve: MergeSummary['lambdaCurve']): MergeSummary {
  const { request, groups, pool, loras, plan } = context;
  const { reports, optimiseSeconds, shapes, settings, ranks } = merged;
  // Work done: each layer's Adam steps, or the gradient-equivalents the Newton solver used (solved layers only).
  const multiplyAdds = shapes.reduce((sum, shape, i) => sum + (reports[i].method === 'zip' ? multiplyAddsPerStep(shape) * (reports[i].evaluations ?? settings.zip.steps) : 0), 0);
  const count = request.inputs.length;
  return {
    output: request.output,
    sidecar,
    method: request.method,
    backend: pool.backend.name,
    device: pool.backend.device,
    threads: pool.size,
    inputs: request.inputs.map((input) => ({ file: path.basename(input.path), weight: input.weight })),
    layers: {
      merged: groups.merged.length,
      copied: request.inputs.map((_, i) => groups.copied.filter((c) => c.member.input === i).length),
      notWritten: groups.skipped.length,
      refused: groups.refused.length,
    },
    seconds: (Date.now() - context.started) / 1000,
    optimiseSeconds,
    gflops: multiplyAdds && optimiseSeconds > 0 ? (2 * multiplyAdds) / optimiseSeconds / 1e9 : undefined,
    meanErrors: meanPerInput(reports, count, (r) => r.errors),
    meanDirectErrors: meanPerInput(reports, count, (r) => r.directErrors),
    ...fileSizes(context, ranks),
    ...(lambdaCurve ? { lambdaCurve } : {}),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    unmerged: unmergedTensors(groups, loras.map((lora) => lora.lora.extraTensors), plan.outcome),
    reports,
  };
}

interface MergeContext {
  readonly request: MergeRequest;
  /** The inputs, open, in request order. */
  readonly loras: readonly OpenLora[];
  readonly groups: WeightedGroups;
  readonly plan: OutputPlan;
  readonly pool: ComputePool;
  readonly callbacks: MergeCallbacks;
  readonly started: number;
  readonly hashes: Promise<readonly string[]>;
  /** The merge's one cancellation token: a cancel from outside or a failure in any phase. */
  readonly stop: MergeStop;
}

/** The solver settings of `zip` layers; `direct` ones are only measured at m = 1 (direct-measures.ts), on the backend all the same. */
interface MethodSettings {
  readonly zip: BatchSettings;
  readonly direct: 'direct';
}

function batchSettings(request: MergeRequest): MethodSettings {
  return { zip: { solver: request.solver, steps: request.steps, lambda: request.lambda, learningRate: request.learningRate, start: 1 }, direct: 'direct' };
}

/** Shapes from the headers alone, oriented like the problem (output columns swap in and out). */
function problemShapes(context: MergeContext): ProblemShape[] {
  return context.groups.merged.map((group) => problemShape(group, context.request.columns));
}

/** The solved layers' results as they arrive from the threads, for the sidecar and the summary. */
class SolvedLayers {
  readonly solutions: LayerSolution[];
  readonly reports: LayerReport[];
  readonly retained: Record<string, number> = {};
  /** The rank each merged layer was written at. */
  readonly ranks: number[];
  private solved = 0;
  private readonly remaining: RemainingTime;

  constructor(
    private readonly context: MergeContext,
    shapes: readonly ProblemShape[],
    private readonly flow: LayerFlow,
  ) {
    this.solutions = new Array(shapes.length);
    this.reports = new Array(shapes.length);
    this.ranks = new Array(shapes.length);
    this.remaining = new RemainingTime(
      shapes.map((s) => multiplyAddsPerStep(s)),
      Date.now(),
    );
  }

  /** Records a solved batch and hands its layers on to the writer. */
  add(batch: readonly number[], outputs: readonly LayerOutput[]): void {
    const { request, groups, callbacks, started } = this.context;
    batch.forEach((index, i) => {
      const { result, retainedEnergy, rank } = outputs[i];
      const group = groups.merged[index];
      const inputs = group.members.map((m) => m.input);
      this.solutions[index] = { module: group.module, inputs, m: result.m, losses: group.method === 'zip' ? result.losses : new Float32Array(0) };
      this.reports[index] = reportFromResult(group.module, result, { inputs, weights: group.weights, method: group.method, sparsityThreshold: request.sparsityThreshold });
      this.ranks[index] = rank;
      if (retainedEnergy !== undefined) this.retained[group.module] = retainedEnergy;
      callbacks.onLayer?.(this.reports[index]);
      this.remaining.solved(index);
      this.solved++;
      this.flow.deliver(index, outputs[i]);
    });
    const now = Date.now();
    const total = this.solutions.length;
    callbacks.onProgress?.({ phase: 'optimising', done: this.solved, total, elapsedMs: now - started, remainingMs: this.remaining.estimate(now), detail: groups.merged[batch[0]].module });
  }
}

/** A merged layer's work for a compute thread: each present input's factor bytes and weight, and the plan's dtype, targets and rank. */
async function layerJob(context: MergeContext, index: number): Promise<LayerJob> {
  const group = context.groups.merged[index];
  const { dtype, targets, rank } = context.plan.merged[index];
  const inputs = [];
  for (const member of group.members) inputs.push(await readLayerBytes(context.loras[member.input].file, member.layer));
  const { rankEnergy } = context.request;
  return { inputs, weights: group.weights, dtype, targets, rank, ...(rankEnergy !== undefined ? { rankEnergy } : {}) };
}

/**
 * Batches of layers one solve can take together: the same method and the same problem shape (planBatches), in file
 * order of their first layer, so that results arrive about in the order the writer needs them.
 */
function layerBatches(context: MergeContext, shapes: readonly ProblemShape[]): { batch: number[]; method: MergedGroup['method'] }[] {
  const { backend } = context.pool;
  const batches: { batch: number[]; method: MergedGroup['method'] }[] = [];
  for (const method of ['zip', 'direct'] as const) {
    const indices = context.groups.merged.flatMap((group, i) => (group.method === method ? [i] : []));
    for (const batch of planBatches(indices.map((i) => shapes[i]), backend.oneLayerPerBatch, backend.maxBatchElements)) batches.push({ batch: batch.map((k) => indices[k]), method });
  }
  return batches.sort((a, b) => Math.min(...a.batch) - Math.min(...b.batch));
}

/** Reads the merged layers batch by batch (as the flow admits them) and hands each batch to a compute thread. */
async function dispatchBatches(context: MergeContext, settings: MethodSettings, shapes: readonly ProblemShape[], flow: LayerFlow, solved: SolvedLayers): Promise<void> {
  const { request, groups, pool, stop, callbacks, started } = context;
  const total = groups.merged.length;
  const solving: Promise<void>[] = [];
  let read = 0;
  for (const { batch, method } of layerBatches(context, shapes)) {
    await flow.admit(batch);
    stop.signal.throwIfAborted();
    const layers: LayerJob[] = [];
    for (const index of batch) {
      layers.push(await layerJob(context, index));
      read++;
      callbacks.onProgress?.({ phase: 'reading', done: read, total, elapsedMs: Date.now() - started, detail: groups.merged[index].module });
    }
    solving.push(
      pool.run({ layers, settings: settings[method], columns: request.columns }).then(
        (outputs) => solved.add(batch, outputs),
        (error: unknown) => stop.stop(error),
      ),
    );
  }
  await Promise.all(solving);
}

type MergedLayers = Awaited<ReturnType<typeof mergeLayers>>;

/** Reads, solves and writes every merged layer (and the copied ones) into the merged file, staged. */
async function mergeLayers(context: MergeContext) {
  const { request, pool, stop } = context;
  const settings = batchSettings(request);
  const shapes = problemShapes(context);
  const flow = new LayerFlow(shapes.length, LAYERS_AHEAD_PER_THREAD * pool.size);
  // Whatever stops the merge wakes the reader and the writer waiting in the flow.
  stop.onStop((reason) => flow.fail(reason));
  // An input that cannot be hashed ends the merge at once, not after every layer is written.
  context.hashes.catch((error: unknown) => stop.stop(error));
  const solved = new SolvedLayers(context, shapes, flow);
  const optimiseStarted = Date.now();
  let optimiseSeconds = 0;
  const dispatching = dispatchBatches(context, settings, shapes, flow, solved).then(
    () => (optimiseSeconds = (Date.now() - optimiseStarted) / 1000),
    (error: unknown) => stop.stop(error),
  );
  const { loras, callbacks, started, plan, hashes } = context;
  const written = await writeMergedFile({
    request,
    plan,
    inputs: loras,
    layerOutput: (index) => flow.take(index),
    layerWritten: (index) => flow.written(index),
    hashes,
    backend: pool.backend,
    callbacks,
    started,
    signal: stop.signal,
  }).catch((error: unknown) => {
    stop.stop(error);
    throw stop.signal.reason;
  });
  await dispatching;
  if (stop.signal.aborted) {
    // Stopped after the writer's last check: the whole merged file is staged, not in place.
    await written.staged.discard();
    throw stop.signal.reason;
  }
  const { solutions, reports, retained, ranks } = solved;
  return { ...written, solutions, reports, retained, ranks, optimiseSeconds, shapes, settings };
}
