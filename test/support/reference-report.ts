/**
 * The N-way per-layer report computed in float64 from given coefficients (objective.ts): the reference that the
 * report a merge measures on its backend (layer-report.ts reportFromResult) is tested against. Tests and
 * benchmarks only.
 */
import { columnBilinear, columnQuadratic } from '../../src/core/linalg/gram';
import { block } from '../../src/core/linalg/small-matrix';
import { DEFAULT_SPARSITY_THRESHOLD, LayerReport, normRatio, pairOverlap, sparsityOf } from '../../src/core/merge/layer-report';
import { inputPairs } from '../../src/core/merge/types';
import { evaluateObjective, PreparedLayer } from './objective';

export interface ColumnForms {
  /** ‖c_i,j‖² per input. */
  readonly squares: Float64Array[];
  /** ⟨c_i,j, c_k,j⟩ per pair i < k. */
  readonly inner: Float64Array[];
}

/** ⟨c_i,j, c_k,j⟩ = a_i,jᵀ·G_ik·a_k,j and ‖c_i,j‖² = a_i,jᵀ·G_ii·a_i,j, from the up-Gram blocks. */
export function columnForms(layer: PreparedLayer): ColumnForms {
  const { inFeatures: n, ranks, offsets, down, upGram } = layer;
  const R = ranks.reduce((a, r) => a + r, 0);
  const rows = (i: number) => down.subarray(offsets[i] * n, (offsets[i] + ranks[i]) * n);
  const gramBlock = (i: number, k: number) => block(upGram, R, offsets[i], offsets[i] + ranks[i], offsets[k], offsets[k] + ranks[k]);
  return {
    squares: ranks.map((r, i) => columnQuadratic(gramBlock(i, i), rows(i), r, n)),
    inner: inputPairs(ranks.length).map(([i, k]) => columnBilinear(gramBlock(i, k), rows(i), ranks[i], rows(k), ranks[k], n)),
  };
}

export interface ReportInput {
  readonly module: string;
  readonly layer: PreparedLayer;
  readonly m: readonly ArrayLike<number>[];
  readonly lambda: number;
  readonly steps: number;
  readonly sparsityThreshold?: number;
}

export function layerReport(input: ReportInput): LayerReport {
  const { layer, m, lambda } = input;
  const n = layer.inFeatures;
  const N = m.length;
  const threshold = input.sparsityThreshold ?? DEFAULT_SPARSITY_THRESHOLD;
  const merged = evaluateObjective(layer, m, lambda);
  const direct = evaluateObjective(layer, m.map(() => new Float64Array(n).fill(1)), 0);
  const forms = columnForms(layer);
  return {
    module: input.module,
    columns: n,
    method: 'zip',
    inputs: Array.from({ length: N }, (_, i) => i),
    weights: new Array<number>(N).fill(1),
    errors: merged.errors,
    directErrors: direct.errors,
    sparsity: m.map((c) => sparsityOf(c, threshold)),
    pairs: inputPairs(N).map(([i, k], p) => ({ a: i, b: k, ...pairOverlap(forms.inner[p], forms.squares[i], forms.squares[k], m[i], m[k]) })),
    normRatio: normRatio({ m, columnSquares: forms.squares, columnInner: forms.inner }),
    steps: input.steps,
    loss: merged.loss,
    lambda,
  };
}
