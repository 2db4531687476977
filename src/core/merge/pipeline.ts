/**
 * A whole merge, start to finish: open and pair both LoRAs, read and prepare the paired layers, optimise
 * (ZipLoRA) or not (direct), report, and write the merged LoRA and its sidecar. It runs in the worker
 * process; the callbacks carry progress out and a cancel in.
 */
import path from 'node:path';
import { openLora, OpenLora } from '../lora/open-lora';
import { pairLayers, PairingReport } from '../lora/pairing';
import { checkWritableTarget } from '../safetensors/writer';
import { ComputeBackend, selectBackend } from './backends';
import { LayerReport, layerReport } from './layer-report';
import { prepareLayer, PreparedLayer } from './objective';
import { readDelta } from './read-delta';
import { MergeProgress, MergeRequest, MergeStart, MergeSummary, sidecarPathFor } from './request';
import { orientForColumns } from './types';
import { writeMergeOutputs } from './write-output';
import { LayerSolution, multiplyAddsPerStep, solveZipLora } from './ziplora-solver';

export interface MergeCallbacks {
  onStart?(start: MergeStart): void;
  onProgress?(progress: MergeProgress): void;
  onLayer?(report: LayerReport): void;
  /** Throws to cancel; checked between layers, steps and tensors. */
  checkCancelled?(): void;
}

export class MergeError extends Error {
  override name = 'MergeError';
}

function checkPairing(pairing: PairingReport, request: MergeRequest): void {
  const names = `${path.basename(request.content)} and ${path.basename(request.style)}`;
  if (pairing.incompatibility) throw new MergeError(`cannot merge ${names}: ${pairing.incompatibility}`);
  if (pairing.paired.length === 0) throw new MergeError(`cannot merge ${names}: they have no layer in common`);
}

async function solve(
  request: MergeRequest,
  backend: ComputeBackend | undefined,
  prepared: PreparedLayer[],
  callbacks: MergeCallbacks,
  started: number,
): Promise<LayerSolution[]> {
  const solutions: LayerSolution[] = new Array(prepared.length);
  if (request.method === 'direct' || !backend) {
    const [wc, ws] = request.directWeights;
    prepared.forEach((layer, i) => {
      solutions[i] = { mContent: new Float32Array(layer.inFeatures).fill(wc), mStyle: new Float32Array(layer.inFeatures).fill(ws), losses: new Float32Array(0) };
    });
    return solutions;
  }
  const settings = { steps: request.steps, lambda: request.lambda, learningRate: request.learningRate, columns: request.columns };
  await solveZipLora(backend, prepared, settings, {
    onLayerSolved: (i, solution) => (solutions[i] = solution),
    onProgress: (done, total) => callbacks.onProgress?.({ phase: 'optimising', done, total, elapsedMs: Date.now() - started }),
    checkCancelled: callbacks.checkCancelled,
  });
  return solutions;
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
    const backend = request.method === 'ziplora' ? await selectBackend(request.backend) : undefined;
    callbacks.onStart?.({
      backend: backend?.name ?? 'none (direct merge)',
      device: backend?.device ?? 'CPU',
      skipped: backend?.skipped ?? [],
      paired: pairing.paired.length,
      contentOnly: pairing.onlyInFirst.length,
      styleOnly: pairing.onlyInSecond.length,
      refused: pairing.refused.map((r) => ({ module: r.module, reason: r.reason })),
    });

    const prepared: PreparedLayer[] = [];
    for (const [i, pair] of pairing.paired.entries()) {
      callbacks.checkCancelled?.();
      const contentDelta = orientForColumns(await readDelta(content, pair.first), request.columns);
      const styleDelta = orientForColumns(await readDelta(style, pair.second), request.columns);
      prepared.push(prepareLayer({ content: contentDelta, style: styleDelta }));
      callbacks.onProgress?.({ phase: 'reading', done: i + 1, total: pairing.paired.length, elapsedMs: Date.now() - started, detail: pair.module });
    }

    const optimiseStarted = Date.now();
    const solutions = await solve(request, backend, prepared, callbacks, started);
    const optimiseSeconds = (Date.now() - optimiseStarted) / 1000;
    const reports = prepared.map((layer, i) => {
      const report = layerReport({
        module: pairing.paired[i].module,
        layer,
        mContent: solutions[i].mContent,
        mStyle: solutions[i].mStyle,
        lambda: request.method === 'ziplora' ? request.lambda : 0,
        steps: request.method === 'ziplora' ? request.steps : 0,
        directWeights: request.directWeights,
        sparsityThreshold: request.sparsityThreshold,
      });
      callbacks.onLayer?.(report);
      return report;
    });

    const warnings = await writeMergeOutputs({ request, sidecar, content, style, pairing, solutions, reports, backend, callbacks, started });
    const multiplyAdds = request.method === 'ziplora' ? prepared.reduce((sum, l) => sum + multiplyAddsPerStep(l), 0) * request.steps : 0;
    return {
      output: request.output,
      sidecar,
      method: request.method,
      backend: backend?.name ?? 'none (direct merge)',
      device: backend?.device ?? 'CPU',
      layers: { merged: prepared.length, copiedFromContent: pairing.onlyInFirst.length, copiedFromStyle: pairing.onlyInSecond.length, refused: pairing.refused.length },
      seconds: (Date.now() - started) / 1000,
      optimiseSeconds,
      gflops: multiplyAdds && optimiseSeconds > 0 ? (2 * multiplyAdds) / optimiseSeconds / 1e9 : undefined,
      meanContentError: mean(reports.map((r) => r.contentError)),
      meanStyleError: mean(reports.map((r) => r.styleError)),
      meanDirectContentError: mean(reports.map((r) => r.directContentError)),
      meanDirectStyleError: mean(reports.map((r) => r.directStyleError)),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      warnings,
      reports,
    };
  } finally {
    await content.file.close();
    await style?.file.close();
  }
}
