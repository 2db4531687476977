/**
 * A whole merge, start to finish: open and pair both LoRAs, plan the merged file (output-plan.ts), then read,
 * solve and write the paired layers as a stream — the main thread reads a batch's factor bytes and hands them to
 * a compute thread (compute-pool.ts), which solves (ZipLoRA) or only measures (direct) and returns the merged
 * layer encoded for the plan's targets; the writer writes the plan's tensors in file order as they arrive, while
 * the inputs are hashed. It runs in the worker process; the callbacks carry progress out, and one AbortSignal
 * (cancellation.ts) carries a cancel in.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { openLora, OpenLora } from '../lora/open-lora';
import { pairLayers, PairingReport } from '../lora/pairing';
import { InputWatch } from '../input-change';
import { asFileError } from '../safetensors/errors';
import { checkWritableTarget } from '../safetensors/writer';
import { MergeStop } from './cancellation';
import { ComputePool, threadCount } from './compute-pool';
import { LayerJob, LayerOutput, readLayerBytes } from './layer-job';
import { LayerFlow } from './layer-flow';
import { fitMergeToMemory, problemShape } from './memory-fit';
import { TwoWayBatchSettings as BatchSettings, TwoWayLayerReport as LayerReport, twoWayReportFromResult as reportFromResult } from './two-way-bridge';
import { MergeCallbacks } from './merge-callbacks';
import { OutputPlan, planOutput } from './output-plan';
import { RemainingTime } from './remaining-time';
import { MergeRequest, MergeStart, MergeSummary, sidecarPathFor } from './request';
import { unmergedTensors } from './unmerged-tensors';
import { LayerSolution, writeMergedFile, writeSidecar } from './write-output';
import { ProblemShape, multiplyAddsPerStep, planBatches } from './ziplora-solver';

export class MergeError extends Error {
  override name = 'MergeError';
}

function checkPairing(pairing: PairingReport, request: MergeRequest): void {
  const names = `${path.basename(request.content)} and ${path.basename(request.style)}`;
  if (pairing.incompatibility) throw new MergeError(`cannot merge ${names}: ${pairing.incompatibility}`);
  if (pairing.paired.length === 0) throw new MergeError(`cannot merge ${names}: they have no layer in common`);
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** An input's sha256; a failure to read it is named after that input, not after the output being written. */
async function sha256(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file, { signal })) hash.update(chunk as Buffer);
  } catch (error) {
    throw signal.aborted ? signal.reason : asFileError(error, file);
  }
  return hash.digest('hex');
}

/** Layers read ahead per compute thread: enough to keep every thread busy while the writer catches up. */
const LAYERS_AHEAD_PER_THREAD = 2;

/** Refuses a merge whose outputs would overwrite something they must not, or whose inputs are one file. */
async function checkTargets(request: MergeRequest, sidecar: string): Promise<void> {
  const inputs = [request.content, request.style];
  await checkWritableTarget(request.output, { protect: inputs, overwrite: request.overwrite });
  await checkWritableTarget(sidecar, { protect: inputs, overwrite: request.overwrite });
  if (path.resolve(request.content) === path.resolve(request.style)) {
    throw new MergeError(`content and style are the same file (${request.content}): choose two different LoRAs`);
  }
}

function pairInputs(request: MergeRequest, content: OpenLora, style: OpenLora): PairingReport {
  const pairing = pairLayers(
    { name: path.basename(request.content), layers: content.lora.layers, baseModel: content.lora.baseModel },
    { name: path.basename(request.style), layers: style.lora.layers, baseModel: style.lora.baseModel },
  );
  checkPairing(pairing, request);
  return pairing;
}

function startOf(pool: ComputePool, pairing: PairingReport): MergeStart {
  const { backend } = pool;
  return {
    backend: backend.name,
    device: backend.device,
    skipped: backend.skipped,
    paired: pairing.paired.length,
    contentOnly: pairing.onlyInFirst.length,
    styleOnly: pairing.onlyInSecond.length,
    refused: pairing.refused.map((r) => ({ module: r.module, reason: r.reason })),
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
  // The inputs' identities, before either is opened: a change by the end of the reads fails the merge.
  const inputWatch = await InputWatch.start([request.content, request.style]);
  let content: OpenLora | undefined;
  let style: OpenLora | undefined;
  let pool: ComputePool | undefined;
  try {
    content = await openLora(request.content);
    style = await openLora(request.style);
    const pairing = pairInputs(request, content, style);
    // Planned once, before any layer is solved: the threads and the writer both follow this plan.
    const plan = planOutput(request, content, style, pairing);
    // Hashed from the start, alongside the work; the merged file's header, which names them, is written last.
    const hashes = Promise.all([sha256(request.content, stop.signal), sha256(request.style, stop.signal)] as const);
    hashes.catch(() => undefined);
    // The direct merge needs no optimisation, but its report is measured on the same backend.
    // Fewer threads, or a refusal, where the machine lacks the memory this merge needs (memory-fit.ts).
    const { threads } = fitMergeToMemory(request, pairing, threadCount(request.threads), LAYERS_AHEAD_PER_THREAD);
    pool = await ComputePool.start(request.backend, threads);
    stop.signal.throwIfAborted();
    callbacks.onStart?.(startOf(pool, pairing));
    const context: MergeContext = { request, content, style, pairing, plan, pool, callbacks, started, hashes, stop };
    const merged = await mergeLayers(context);
    const { reports, retained } = merged;
    // Every input byte is read: a changed input fails the merge before anything is put in place.
    await inputWatch.checkUnchanged(() => merged.staged.discard());
    const sidecarReports = reports.map((r) => (retained[r.module] !== undefined ? { ...r, retainedEnergy: retained[r.module] } : r));
    await writeSidecar({ request, sidecar, pairing, merged: merged.staged, metadata: merged.metadata, solutions: merged.solutions, reports: sidecarReports, callbacks, started, signal: stop.signal });
    return summaryOf(context, merged, sidecar);
  } catch (error) {
    // Every phase stops (the hashing included); a failure caused by an input changing under the reads is
    // reported as that change (a cancel stays a cancel).
    stop.stop(error);
    throw await inputWatch.explain(error, signal?.aborted === true);
  } finally {
    await pool?.close();
    await content?.file.close();
    await style?.file.close();
  }
}

function summaryOf(context: MergeContext, merged: MergedLayers, sidecar: string): MergeSummary {
  const { request, pairing, pool, content, style, plan } = context;
  const { reports, optimiseSeconds, shapes, settings } = merged;
  // Work done: each layer's Adam steps, or the gradient-equivalents the Newton solver used.
  const multiplyAdds = shapes.reduce((sum, shape, i) => sum + multiplyAddsPerStep(shape) * (reports[i].evaluations ?? settings.steps), 0);
  return {
    output: request.output,
    sidecar,
    method: request.method,
    backend: pool.backend.name,
    device: pool.backend.device,
    threads: pool.size,
    layers: { merged: pairing.paired.length, copiedFromContent: pairing.onlyInFirst.length, copiedFromStyle: pairing.onlyInSecond.length, refused: pairing.refused.length },
    seconds: (Date.now() - context.started) / 1000,
    optimiseSeconds,
    gflops: multiplyAdds && optimiseSeconds > 0 ? (2 * multiplyAdds) / optimiseSeconds / 1e9 : undefined,
    meanContentError: mean(reports.map((r) => r.contentError)),
    meanStyleError: mean(reports.map((r) => r.styleError)),
    meanDirectContentError: mean(reports.map((r) => r.directContentError)),
    meanDirectStyleError: mean(reports.map((r) => r.directStyleError)),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    unmerged: unmergedTensors(pairing, { content: content.lora.extraTensors, style: style.lora.extraTensors }, plan.outcome),
    reports,
  };
}

interface MergeContext {
  readonly request: MergeRequest;
  readonly content: OpenLora;
  readonly style: OpenLora;
  readonly pairing: PairingReport;
  readonly plan: OutputPlan;
  readonly pool: ComputePool;
  readonly callbacks: MergeCallbacks;
  readonly started: number;
  readonly hashes: Promise<readonly [string, string]>;
  /** The merge's one cancellation token: a cancel from outside or a failure in any phase. */
  readonly stop: MergeStop;
}

function batchSettings(request: MergeRequest): BatchSettings {
  const ziplora = request.method === 'ziplora';
  return {
    solver: ziplora ? request.solver : 'adam',
    steps: ziplora ? request.steps : 0,
    lambda: ziplora ? request.lambda : 0,
    learningRate: request.learningRate,
    start: ziplora ? [1, 1] : request.directWeights,
    directWeights: request.directWeights,
  };
}

/** Shapes from the headers alone, oriented like the problem (output columns swap in and out). */
function problemShapes(context: MergeContext): ProblemShape[] {
  return context.pairing.paired.map((pair) => problemShape(pair, context.request.columns));
}

/** The solved layers' results as they arrive from the threads, for the sidecar and the summary. */
class SolvedLayers {
  readonly solutions: LayerSolution[];
  readonly reports: LayerReport[];
  readonly retained: Record<string, number> = {};
  private solved = 0;
  private readonly remaining: RemainingTime;

  constructor(
    private readonly context: MergeContext,
    shapes: readonly ProblemShape[],
    private readonly flow: LayerFlow,
  ) {
    this.solutions = new Array(shapes.length);
    this.reports = new Array(shapes.length);
    this.remaining = new RemainingTime(
      shapes.map((s) => multiplyAddsPerStep(s)),
      Date.now(),
    );
  }

  /** Records a solved batch and hands its layers on to the writer. */
  add(batch: readonly number[], outputs: readonly LayerOutput[]): void {
    const { request, pairing, callbacks, started } = this.context;
    batch.forEach((index, i) => {
      const { result, retainedEnergy } = outputs[i];
      const module = pairing.paired[index].module;
      this.solutions[index] = { mContent: result.mContent, mStyle: result.mStyle, losses: request.method === 'ziplora' ? result.losses : new Float32Array(0) };
      this.reports[index] = reportFromResult(module, result, { directWeights: request.directWeights, sparsityThreshold: request.sparsityThreshold });
      if (retainedEnergy !== undefined) this.retained[module] = retainedEnergy;
      callbacks.onLayer?.(this.reports[index]);
      this.remaining.solved(index);
      this.solved++;
      this.flow.deliver(index, outputs[i]);
    });
    const now = Date.now();
    const total = this.solutions.length;
    callbacks.onProgress?.({ phase: 'optimising', done: this.solved, total, elapsedMs: now - started, remainingMs: this.remaining.estimate(now), detail: pairing.paired[batch[0]].module });
  }
}

/** A paired layer's work for a compute thread: its factor bytes, and the plan's dtype, targets and rank. */
async function layerJob(context: MergeContext, index: number): Promise<LayerJob> {
  const pair = context.pairing.paired[index];
  const { dtype, targets, rank } = context.plan.merged[index];
  return { content: await readLayerBytes(context.content.file, pair.first), style: await readLayerBytes(context.style.file, pair.second), dtype, targets, rank };
}

/** Reads the paired layers batch by batch (as the flow admits them) and hands each batch to a compute thread. */
async function dispatchBatches(context: MergeContext, settings: BatchSettings, shapes: readonly ProblemShape[], flow: LayerFlow, solved: SolvedLayers): Promise<void> {
  const { request, pairing, pool, stop, callbacks, started } = context;
  // In file order of their first layer, so that results arrive about in the order the writer needs them.
  const batches = planBatches(shapes, pool.backend.oneLayerPerBatch, pool.backend.maxBatchElements).sort((a, b) => Math.min(...a) - Math.min(...b));
  const total = pairing.paired.length;
  const solving: Promise<void>[] = [];
  let read = 0;
  for (const batch of batches) {
    await flow.admit(batch);
    stop.signal.throwIfAborted();
    const layers: LayerJob[] = [];
    for (const index of batch) {
      layers.push(await layerJob(context, index));
      read++;
      callbacks.onProgress?.({ phase: 'reading', done: read, total, elapsedMs: Date.now() - started, detail: pairing.paired[index].module });
    }
    solving.push(
      pool.run({ layers, settings, columns: request.columns }).then(
        (outputs) => solved.add(batch, outputs),
        (error: unknown) => stop.stop(error),
      ),
    );
  }
  await Promise.all(solving);
}

type MergedLayers = Awaited<ReturnType<typeof mergeLayers>>;

/** Reads, solves and writes every paired layer (and the copied ones) into the merged file, staged. */
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
  const { content, style, callbacks, started, plan, hashes } = context;
  const written = await writeMergedFile({
    request,
    plan,
    inputs: { content, style },
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
  const { solutions, reports, retained } = solved;
  return { ...written, solutions, reports, retained, optimiseSeconds, shapes, settings };
}
