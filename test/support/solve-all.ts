/**
 * Solving a list of layers in this thread with the product's solver (solveBatch, batched as planBatches groups
 * them): the tests' and benchmarks' way to run the solver without the merge pipeline.
 */
import { ComputeBackend } from '../../src/core/merge/backends';
import { BatchSettings, LayerInput, LayerResult, planBatches, solveBatch } from '../../src/core/merge/ziplora-solver';

export interface SolveCallbacks {
  /** Called as each layer's result is ready, in any order. */
  onLayerSolved(index: number, result: LayerResult): void;
  /** Layer-steps done so far out of all of them. */
  onProgress?(doneLayerSteps: number, totalLayerSteps: number): void;
  /** Throws (e.g. on a cancel) to stop; checked between steps. */
  checkCancelled?(): void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Solves every layer, batch by batch, in this thread (the merge pipeline streams batches to its compute threads). */
export async function solveAll(backend: ComputeBackend, layers: readonly LayerInput[], settings: BatchSettings, callbacks: SolveCallbacks): Promise<void> {
  const shapes = layers.map((l) => ({ inFeatures: l.inputs[0].inFeatures, outFeatures: l.inputs[0].outFeatures, ranks: l.inputs.map((d) => d.rank) }));
  const total = layers.length * Math.max(1, settings.steps);
  let done = 0;
  for (const batch of planBatches(shapes, backend.oneLayerPerBatch, backend.maxBatchElements)) {
    callbacks.checkCancelled?.();
    let reported = 0;
    const results = await solveBatch(
      backend,
      batch.map((i) => layers[i]),
      settings,
      async (step) => {
        done += (step - reported) * batch.length;
        reported = step;
        callbacks.onProgress?.(done, total);
        await yieldToEventLoop();
        callbacks.checkCancelled?.();
      },
    );
    batch.forEach((layerIndex, i) => callbacks.onLayerSolved(layerIndex, results[i]));
  }
}
