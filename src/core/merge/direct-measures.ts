/**
 * The direct merge's report (docs/merge-method.md §6) without the solver: every input's fidelity term and the
 * per-column forms, measured once at m = 1 (the weighted sum of the inputs). The solver's path to the same
 * numbers (Adam with no step) also built the fused quadratic and took its projected gradient at m = 1, which a
 * merge that solves nothing does not report; measureBatch and its inputs are the same, so every measure is the
 * same to the bit.
 */
import { ComputeBackend } from './backends';
import { measureBatch, MergedLayerResult } from './batch-measures';
import { prepareBatch, Tensor3D } from './batch-tensors';
import { LayerInput } from './types';

/** Measures a batch of layers (equal in and ranks) at the direct merge, m_i = 1 for every input. */
export async function measureDirect(backend: ComputeBackend, layers: readonly LayerInput[]): Promise<MergedLayerResult[]> {
  const { tf } = backend;
  const prepared = prepareBatch(tf, layers, 0);
  const { size: B, inFeatures: n } = prepared;
  const N = prepared.ranks.length;
  const ones = Array.from({ length: N }, () => tf.ones([B, n, 1]) as Tensor3D);
  try {
    const measured = await measureBatch(prepared, ones, [], { directWeights: new Array<number>(N).fill(1), atDirect: true });
    return measured.map((m) => ({ ...m, solver: 'adam' as const, iterations: 0, evaluations: 0, converged: false, lambda: 0 }));
  } finally {
    tf.dispose(ones);
    prepared.dispose();
  }
}
