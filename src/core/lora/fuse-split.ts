/**
 * The split parts of a fused projection (see fused-projections.ts), from one file, as ONE exact LoRA on the fused
 * module: up = block-diagonal of the parts' scaled up factors (zero rows where a part is missing), down = the parts'
 * down factors stacked, rank = the sum of their ranks, scale 1. B·A of it is exactly the parts' ΔW stacked by rows.
 */
import { FusedPart, LoraLayer, StoredFactors } from './layer';

/** The fused layer built from parts; `fused` is the layer on the other side it pairs with (its name and shape). */
export function fusedFromParts(fused: LoraLayer, parts: readonly FusedPart[]): LoraLayer {
  const rank = parts.reduce((sum, p) => sum + p.layer.rank, 0);
  const first = parts[0].layer;
  return {
    module: fused.module,
    key: fused.key,
    kind: 'linear',
    kernel: [1, 1],
    inFeatures: fused.inFeatures,
    outFeatures: fused.outFeatures,
    columns: fused.columns,
    rank,
    alpha: null,
    scale: 1,
    scaleSource: `fused from ${parts.length} split part${parts.length === 1 ? '' : 's'} (${parts.map((p) => p.layer.module.split('.').pop()).join(', ')}), each part's scale folded into up`,
    scheme: first.scheme,
    down: first.down,
    up: first.up,
    transposed: false,
    parts,
  };
}

/** The fused layer's factors in stored (not transposed) form: A stacked (R × in), B block-diagonal (out × R). */
export async function readFusedFactors(layer: LoraLayer, readPart: (part: LoraLayer) => Promise<StoredFactors>): Promise<StoredFactors> {
  const parts = layer.parts ?? [];
  const R = layer.rank;
  const cols = layer.columns;
  const down = new Float32Array(R * cols);
  const up = new Float32Array(layer.outFeatures * R);
  let offset = 0;
  for (const part of parts) {
    const p = part.layer;
    const stored = await readPart(p);
    for (let a = 0; a < p.rank; a++) {
      for (let j = 0; j < cols; j++) down[(offset + a) * cols + j] = stored.transposed ? stored.down[j * p.rank + a] : stored.down[a * cols + j];
      for (let i = 0; i < p.outFeatures; i++) {
        const value = stored.transposed ? stored.up[a * p.outFeatures + i] : stored.up[i * p.rank + a];
        up[(part.rowOffset + i) * R + offset + a] = value * p.scale;
      }
    }
    offset += p.rank;
  }
  return { down, up, transposed: false };
}
