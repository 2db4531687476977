/**
 * The per-layer report computed in float64 from given coefficients (objective.ts): the reference that the report a
 * merge measures on its backend (layer-report.ts reportFromResult) is tested against. Tests and benchmarks only.
 */
import { columnBilinear, columnQuadratic } from '../../src/core/linalg/gram';
import { block } from '../../src/core/linalg/small-matrix';
import { columnSummary, DEFAULT_SPARSITY_THRESHOLD, LayerReport } from '../../src/core/merge/layer-report';
import { evaluateObjective, PreparedLayer } from './objective';

interface ColumnProducts {
  readonly inner: Float64Array;
  readonly normContent: Float64Array;
  readonly normStyle: Float64Array;
}

/** ⟨c_j, s_j⟩ = a_c,jᵀ·G_cs·a_s,j and the column norms ‖c_j‖ = √(a_c,jᵀ·G_cc·a_c,j), from the up-Gram blocks. */
function columnProducts(layer: PreparedLayer): ColumnProducts {
  const { inFeatures: n, rankContent: rc, rankStyle: rs, down, upGram } = layer;
  const R = rc + rs;
  const downContent = down.subarray(0, rc * n);
  const downStyle = down.subarray(rc * n);
  const root = (squares: Float64Array) => squares.map((v) => Math.sqrt(Math.max(0, v)));
  return {
    inner: columnBilinear(block(upGram, R, 0, rc, rc, R), downContent, rc, downStyle, rs, n),
    normContent: root(columnQuadratic(block(upGram, R, 0, rc, 0, rc), downContent, rc, n)),
    normStyle: root(columnQuadratic(block(upGram, R, rc, R, rc, R), downStyle, rs, n)),
  };
}

export interface ReportInput {
  readonly module: string;
  readonly layer: PreparedLayer;
  readonly mContent: ArrayLike<number>;
  readonly mStyle: ArrayLike<number>;
  readonly lambda: number;
  readonly steps: number;
  /** Weights of the direct merge it is compared with (1, 1 unless the user set others). */
  readonly directWeights?: readonly [number, number];
  readonly sparsityThreshold?: number;
}

export function layerReport(input: ReportInput): LayerReport {
  const { layer, mContent, mStyle, lambda } = input;
  const n = layer.inFeatures;
  const [wc, ws] = input.directWeights ?? [1, 1];
  const threshold = input.sparsityThreshold ?? DEFAULT_SPARSITY_THRESHOLD;
  const merged = evaluateObjective(layer, mContent, mStyle, lambda);
  const direct = evaluateObjective(layer, new Float64Array(n).fill(wc), new Float64Array(n).fill(ws), 0);
  const { inner, normContent, normStyle } = columnProducts(layer);
  const summary = columnSummary(inner, normContent.map((v) => v * v), normStyle.map((v) => v * v), mContent, mStyle, [wc, ws], threshold);
  return {
    module: input.module,
    columns: n,
    contentError: merged.contentError,
    styleError: merged.styleError,
    directContentError: direct.contentError,
    directStyleError: direct.styleError,
    ...summary,
    steps: input.steps,
    loss: merged.loss,
  };
}

