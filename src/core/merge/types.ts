/** The data of one layer's merge problem, independent of file formats and compute backends. */

/** ΔW = scale · up · down, with down r × in and up out × r, both row-major. */
export interface FactoredDelta {
  readonly down: Float32Array;
  readonly up: Float32Array;
  readonly rank: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly scale: number;
}

export interface LayerPair {
  /** Canonical module name, used for reports and the sidecar's tensor names. */
  readonly module: string;
  readonly content: FactoredDelta;
  readonly style: FactoredDelta;
}

/** Which features the merger coefficients scale: input features (the paper's columns) or output features. */
export type ColumnMode = 'input' | 'output';

export interface ZipLoraSettings {
  readonly steps: number;
  readonly lambda: number;
  readonly learningRate: number;
  readonly columns: ColumnMode;
}

export const DEFAULT_ZIPLORA_SETTINGS: ZipLoraSettings = { steps: 100, lambda: 0.01, learningRate: 0.01, columns: 'input' };

/** Transposes a row-major rows × cols matrix. */
export function transpose(matrix: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(matrix.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = matrix[i * cols + j];
  return out;
}

/**
 * With output-feature columns the coefficients scale rows of ΔW; ΔWᵀ = s·downᵀ·upᵀ turns that into the
 * input-column problem, so every solver only knows input columns.
 */
export function orientForColumns(delta: FactoredDelta, columns: ColumnMode): FactoredDelta {
  if (columns === 'input') return delta;
  return {
    down: transpose(delta.up, delta.outFeatures, delta.rank),
    up: transpose(delta.down, delta.rank, delta.inFeatures),
    rank: delta.rank,
    inFeatures: delta.outFeatures,
    outFeatures: delta.inFeatures,
    scale: delta.scale,
  };
}
