/**
 * A whole merge, start to finish: open and pair both LoRAs, read and prepare the paired layers, optimise
 * (ZipLoRA) or not (direct), report, and write the merged LoRA and its sidecar. It runs in the worker
 * process; the callbacks carry progress out and a cancel in.
 */
import path from 'node:path';
import { openLora, OpenLora } from '../lora/open-lora';
import { pairLayers, PairingReport } from '../lora/pairing';
import { checkWritableTarget } from '../safetensors/writer';
import { selectBackend } from './backends';
import { LayerReport, reportFromResult } from './layer-report';
import { readDelta } from './read-delta';
import { MergeRequest, MergeSummary, sidecarPathFor } from './request';
import { orientForColumns } from './types';
import { MergeCallbacks } from './merge-callbacks';
import { unmergedTensors } from './unmerged-tensors';
import { writeMergeOutputs, LayerSolution } from './write-output';
import { BatchSettings, multiplyAddsPerStep, planBatches, solveBatch } from './ziplora-solver';

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

export async function runMerge(request: MergeRequest, callbacks: MergeCallbacks = {}): Promise<MergeSummary> {
  const started = Date.now();
  const sidecar = sidecarPathFor(request.output);
  const inputs = [request.content, request.style];
  await checkWritableTarget(request.output, { protect: inputs, overwrite: request.overwrite });
  await checkWritableTarget(sidecar, { protect: inputs, overwrite: request.overwrite });
  if (path.resolve(request.content) === path.resolve(request.style)) {
    throw new MergeError(`content and style are the same file (${request.content}): choose two different LoRAs`);
  }
  const content = await openLora(request.content);
  let style: OpenLora | undefined;
  try {
    style = await openLora(request.style);
    const pairing = pairLayers(
      { name: path.basename(request.content), layers: content.lora.layers, baseModel: content.lora.baseModel },
      { name: path.basename(request.style), layers: style.lora.layers, baseModel: style.lora.baseModel },
    );
    checkPairing(pairing, request);
    // The direct merge needs no optimisation, but its report is measured on the same backend.
    const backend = await selectBackend(request.backend);
    callbacks.onStart?.({
      backend: backend.name,
      device: backend.device,
      skipped: backend.skipped,
      paired: pairing.paired.length,
      contentOnly: pairing.onlyInFirst.length,
      styleOnly: pairing.onlyInSecond.length,
      refused: pairing.refused.map((r) => ({ module: r.module, reason: r.reason })),
    });

    const ziplora = request.method === 'ziplora';
    const settings: BatchSettings = {
      steps: ziplora ? request.steps : 0,
      lambda: ziplora ? request.lambda : 0,
      learningRate: request.learningRate,
      start: ziplora ? [1, 1] : request.directWeights,
      directWeights: request.directWeights,
    };
    // Shapes from the headers alone, oriented like the problem (output columns swap in and out).
    const shapes = pairing.paired.map(({ first, second }) => {
      const [inFeatures, outFeatures] = request.columns === 'input' ? [first.columns, first.outFeatures] : [first.outFeatures, first.columns];
      return { inFeatures, outFeatures, rankContent: first.rank, rankStyle: second.rank };
    });
    const solutions: LayerSolution[] = new Array(pairing.paired.length);
    const reports: LayerReport[] = new Array(pairing.paired.length);
    const totalUnits = pairing.paired.length * Math.max(1, settings.steps);
    let doneUnits = 0;
    let optimiseMs = 0;
    // Batches are read, solved and measured one after the other, so memory holds one batch of factors.
    for (const batch of planBatches(shapes, backend.oneLayerPerBatch, backend.maxBatchElements)) {
      const inputs = [];
      for (const index of batch) {
        callbacks.checkCancelled?.();
        const pair = pairing.paired[index];
        inputs.push({
          content: orientForColumns(await readDelta(content, pair.first), request.columns),
          style: orientForColumns(await readDelta(style, pair.second), request.columns),
        });
        callbacks.onProgress?.({ phase: 'reading', done: doneUnits, total: totalUnits, elapsedMs: Date.now() - started, detail: pair.module });
      }
      const solveStarted = Date.now();
      let reported = 0;
      const results = await solveBatch(backend, inputs, settings, async (step) => {
        doneUnits += (step - reported) * batch.length;
        reported = step;
        callbacks.onProgress?.({ phase: 'optimising', done: doneUnits, total: totalUnits, elapsedMs: Date.now() - started, detail: pairing.paired[batch[0]].module });
        await new Promise<void>((resolve) => setImmediate(resolve));
        callbacks.checkCancelled?.();
      });
      optimiseMs += Date.now() - solveStarted;
      if (settings.steps === 0) doneUnits += batch.length;
      batch.forEach((index, i) => {
        const result = results[i];
        solutions[index] = { mContent: result.mContent, mStyle: result.mStyle, losses: ziplora ? result.losses : new Float32Array(0) };
        reports[index] = reportFromResult(pairing.paired[index].module, result, { steps: settings.steps, directWeights: request.directWeights, sparsityThreshold: request.sparsityThreshold });
        callbacks.onLayer?.(reports[index]);
      });
    }
    const optimiseSeconds = optimiseMs / 1000;

    const writer = await writeMergeOutputs({ request, sidecar, content, style, pairing, solutions, reports, backend, callbacks, started });
    const multiplyAdds = shapes.reduce((sum, shape) => sum + multiplyAddsPerStep(shape), 0) * settings.steps;
    return {
      output: request.output,
      sidecar,
      method: request.method,
      backend: backend.name,
      device: backend.device,
      layers: { merged: pairing.paired.length, copiedFromContent: pairing.onlyInFirst.length, copiedFromStyle: pairing.onlyInSecond.length, refused: pairing.refused.length },
      seconds: (Date.now() - started) / 1000,
      optimiseSeconds,
      gflops: multiplyAdds && optimiseSeconds > 0 ? (2 * multiplyAdds) / optimiseSeconds / 1e9 : undefined,
      meanContentError: mean(reports.map((r) => r.contentError)),
      meanStyleError: mean(reports.map((r) => r.styleError)),
      meanDirectContentError: mean(reports.map((r) => r.directContentError)),
      meanDirectStyleError: mean(reports.map((r) => r.directStyleError)),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      unmerged: unmergedTensors(pairing, { content: content.lora.extraTensors, style: style.lora.extraTensors }, writer),
      reports,
    };
  } finally {
    await content.file.close();
    await style?.file.close();
  }
}
