/**
 * A whole merge, start to finish: open and pair both LoRAs, then read, solve and write the paired layers as a
 * stream — the main thread reads a batch's factor bytes and hands them to a compute thread (compute-pool.ts),
 * which solves (ZipLoRA) or only measures (direct) and returns the merged layer encoded; the writer writes the
 * layers in file order as they arrive, while the inputs are hashed. It runs in the worker process; the
 * callbacks carry progress out and a cancel in.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { openLora, OpenLora } from '../lora/open-lora';
import { pairLayers, PairingReport } from '../lora/pairing';
import { InputWatch } from '../input-change';
import { asFileError } from '../safetensors/errors';
import { checkWritableTarget } from '../safetensors/writer';
import { ComputePool, threadCount } from './compute-pool';
import { BatchJob, LayerOutput, readLayerBytes } from './layer-job';
import { LayerFlow } from './layer-flow';
import { LayerReport, reportFromResult } from './layer-report';
import { MergeCallbacks } from './merge-callbacks';
import { outputDtype } from './merged-tensors';
import { RemainingTime } from './remaining-time';
import { MergeRequest, MergeSummary, sidecarPathFor } from './request';
import { unmergedTensors } from './unmerged-tensors';
import { writeTargets } from './output-layout';
import { LayerSolution, outputNaming, writeMergedFile, writeSidecar } from './write-output';
import { BatchSettings, LayerShape, multiplyAddsPerStep, planBatches } from './ziplora-solver';

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
async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (error) {
    throw asFileError(error, file);
  }
  return hash.digest('hex');
}

/** Layers read ahead per compute thread: enough to keep every thread busy while the writer catches up. */
const LAYERS_AHEAD_PER_THREAD = 2;
/** How often a cancel is looked for while the threads compute. */
const CANCEL_POLL_MS = 50;

export async function runMerge(request: MergeRequest, callbacks: MergeCallbacks = {}): Promise<MergeSummary> {
  const started = Date.now();
  const sidecar = sidecarPathFor(request.output);
  const inputs = [request.content, request.style];
  await checkWritableTarget(request.output, { protect: inputs, overwrite: request.overwrite });
  await checkWritableTarget(sidecar, { protect: inputs, overwrite: request.overwrite });
  if (path.resolve(request.content) === path.resolve(request.style)) {
    throw new MergeError(`content and style are the same file (${request.content}): choose two different LoRAs`);
  }
  // input-hook 1 of 3: the inputs' identities, before either is opened.
  const inputWatch = await InputWatch.start([request.content, request.style]);
  const content = await openLora(request.content);
  let style: OpenLora | undefined;
  let pool: ComputePool | undefined;
  try {
    style = await openLora(request.style);
    const pairing = pairLayers(
      { name: path.basename(request.content), layers: content.lora.layers, baseModel: content.lora.baseModel },
      { name: path.basename(request.style), layers: style.lora.layers, baseModel: style.lora.baseModel },
    );
    checkPairing(pairing, request);
    // Hashed from the start, alongside the work; the merged file's header, which names them, is written last.
    const hashes = Promise.all([sha256(request.content), sha256(request.style)] as const);
    hashes.catch(() => undefined);
    // The direct merge needs no optimisation, but its report is measured on the same backend.
    pool = await ComputePool.start(request.backend, threadCount(request.threads));
    const backend = pool.backend;
    callbacks.onStart?.({
      backend: backend.name,
      device: backend.device,
      skipped: backend.skipped,
      paired: pairing.paired.length,
      contentOnly: pairing.onlyInFirst.length,
      styleOnly: pairing.onlyInSecond.length,
      refused: pairing.refused.map((r) => ({ module: r.module, reason: r.reason })),
      threads: pool.size,
    });
    const merged = await mergeLayers({ request, content, style, pairing, pool, callbacks, started, hashes });
    const { reports, solutions, retained, optimiseSeconds, shapes, settings } = merged;
    // input-hook 2 of 3: every input byte is read; a changed input fails the merge before anything is in place.
    await inputWatch.checkUnchanged(() => merged.staged.discard());
    const sidecarReports = reports.map((r) => (retained[r.module] !== undefined ? { ...r, retainedEnergy: retained[r.module] } : r));
    await writeSidecar({ request, sidecar, pairing, merged: merged.staged, metadata: merged.metadata, solutions, reports: sidecarReports, callbacks, started });
    // Work done: each layer's Adam steps, or the gradient-equivalents the Newton solver used.
    const multiplyAdds = shapes.reduce((sum, shape, i) => sum + multiplyAddsPerStep(shape) * (reports[i].evaluations ?? settings.steps), 0);
    return {
      output: request.output,
      sidecar,
      method: request.method,
      backend: backend.name,
      device: backend.device,
      threads: pool.size,
      layers: { merged: pairing.paired.length, copiedFromContent: pairing.onlyInFirst.length, copiedFromStyle: pairing.onlyInSecond.length, refused: pairing.refused.length },
      seconds: (Date.now() - started) / 1000,
      optimiseSeconds,
      gflops: multiplyAdds && optimiseSeconds > 0 ? (2 * multiplyAdds) / optimiseSeconds / 1e9 : undefined,
      meanContentError: mean(reports.map((r) => r.contentError)),
      meanStyleError: mean(reports.map((r) => r.styleError)),
      meanDirectContentError: mean(reports.map((r) => r.directContentError)),
      meanDirectStyleError: mean(reports.map((r) => r.directStyleError)),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      unmerged: unmergedTensors(pairing, { content: content.lora.extraTensors, style: style.lora.extraTensors }, merged),
      reports,
    };
  } catch (error) {
    // input-hook 3 of 3: a failure caused by an input changing under the reads is reported as that.
    throw await inputWatch.explain(error, callbacks.checkCancelled);
  } finally {
    await pool?.close();
    await content.file.close();
    await style?.file.close();
  }
}

interface MergeContext {
  readonly request: MergeRequest;
  readonly content: OpenLora;
  readonly style: OpenLora;
  readonly pairing: PairingReport;
  readonly pool: ComputePool;
  readonly callbacks: MergeCallbacks;
  readonly started: number;
  readonly hashes: Promise<readonly [string, string]>;
}

/** Reads, solves and writes every paired layer (and the copied ones) into the merged file. */
async function mergeLayers(context: MergeContext) {
  const { request, content, style, pairing, pool, callbacks, started } = context;
  // Where each merged layer goes in the file: the thread cuts the merged up for exactly the writer's targets.
  const { family, layout } = outputNaming(request, content, style);
  const ziplora = request.method === 'ziplora';
  const settings: BatchSettings = {
    solver: ziplora ? request.solver : 'adam',
    steps: ziplora ? request.steps : 0,
    lambda: ziplora ? request.lambda : 0,
    learningRate: request.learningRate,
    start: ziplora ? [1, 1] : request.directWeights,
    directWeights: request.directWeights,
  };
  // Shapes from the headers alone, oriented like the problem (output columns swap in and out).
  const shapes: LayerShape[] = pairing.paired.map(({ first, second }) => {
    const [inFeatures, outFeatures] = request.columns === 'input' ? [first.columns, first.outFeatures] : [first.outFeatures, first.columns];
    return { inFeatures, outFeatures, rankContent: first.rank, rankStyle: second.rank };
  });
  // In file order of their first layer, so that results arrive about in the order the writer needs them.
  const batches = planBatches(shapes, pool.backend.oneLayerPerBatch, pool.backend.maxBatchElements).sort((a, b) => Math.min(...a) - Math.min(...b));
  const total = pairing.paired.length;
  const flow = new LayerFlow(total, LAYERS_AHEAD_PER_THREAD * pool.size);
  const solutions: LayerSolution[] = new Array(total);
  const reports: LayerReport[] = new Array(total);
  const retained: Record<string, number> = {};
  const remaining = new RemainingTime(shapes.map((s) => multiplyAddsPerStep(s)), Date.now());
  const optimiseStarted = Date.now();
  let read = 0;
  let solved = 0;

  const layerJob = async (index: number) => {
    const pair = pairing.paired[index];
    return {
      content: await readLayerBytes(content.file, pair.first),
      style: await readLayerBytes(style.file, pair.second),
      dtype: outputDtype(request, pair.first),
      targets: writeTargets(pair.first, pair.module, layout, family),
      ...(request.rank !== undefined ? { rank: request.rank } : {}),
    };
  };
  const onSolved = (batch: readonly number[], outputs: readonly LayerOutput[]) => {
    batch.forEach((index, i) => {
      const { result } = outputs[i];
      const module = pairing.paired[index].module;
      solutions[index] = { mContent: result.mContent, mStyle: result.mStyle, losses: ziplora ? result.losses : new Float32Array(0) };
      reports[index] = reportFromResult(module, result, { directWeights: request.directWeights, sparsityThreshold: request.sparsityThreshold });
      if (outputs[i].retainedEnergy !== undefined) retained[module] = outputs[i].retainedEnergy!;
      callbacks.onLayer?.(reports[index]);
      remaining.solved(index);
      solved++;
      flow.deliver(index, outputs[i]);
    });
    const now = Date.now();
    callbacks.onProgress?.({ phase: 'optimising', done: solved, total, elapsedMs: now - started, remainingMs: remaining.estimate(now), detail: pairing.paired[batch[0]].module });
  };

  let stopped: Error | undefined;
  // The writer's wait for the hashes ends with a cancel too, not only when both inputs are hashed.
  let stopWaiting: (error: Error) => void = () => undefined;
  const stoppedWhileWaiting = new Promise<never>((_, reject) => (stopWaiting = reject));
  stoppedWhileWaiting.catch(() => undefined);
  const stop = (error: unknown) => {
    stopped ??= error instanceof Error ? error : new MergeError(String(error));
    flow.fail(stopped);
    stopWaiting(stopped);
  };
  const dispatch = async () => {
    const solving: Promise<void>[] = [];
    for (const batch of batches) {
      await flow.admit(batch);
      callbacks.checkCancelled?.();
      const layers = [];
      for (const index of batch) {
        layers.push(await layerJob(index));
        read++;
        callbacks.onProgress?.({ phase: 'reading', done: read, total, elapsedMs: Date.now() - started, detail: pairing.paired[index].module });
      }
      const job: BatchJob = { layers, settings, columns: request.columns };
      solving.push(pool.run(job).then((outputs) => onSolved(batch, outputs), stop));
    }
    await Promise.all(solving);
  };
  // A cancel is looked for while the main thread waits for the threads, not only between its own steps.
  const poll = setInterval(() => {
    try {
      callbacks.checkCancelled?.();
    } catch (error) {
      stop(error);
    }
  }, CANCEL_POLL_MS);
  // An input that cannot be hashed ends the merge at once, not after every layer is written.
  const hashes = Promise.race([context.hashes, stoppedWhileWaiting]);
  hashes.catch(stop);
  let optimiseSeconds = 0;
  try {
    const dispatching = dispatch().then(() => (optimiseSeconds = (Date.now() - optimiseStarted) / 1000), stop);
    const written = writeMergedFile({
      request,
      content,
      style,
      pairing,
      layerOutput: (index) => flow.take(index),
      layerWritten: (index) => flow.written(index),
      hashes,
      backend: pool.backend,
      callbacks,
      started,
    });
    const result = await written.catch((error: unknown) => {
      stop(error);
      throw stopped;
    });
    await dispatching;
    if (stopped) {
      // A cancel seen by the poll after the writer's last check: the whole merged file is staged, not in place.
      await result.staged.discard();
      throw stopped;
    }
    return { ...result, solutions, reports, retained, optimiseSeconds, shapes, settings };
  } finally {
    clearInterval(poll);
  }
}
