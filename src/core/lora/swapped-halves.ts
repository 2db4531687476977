/**
 * Third pass of the pairing: a diffusers module and its native twin whose up rows hold the same two halves in the
 * other order (diffusers `norm_out.linear` = scale | shift, native `final_layer.adaLN_modulation.1` = shift | scale;
 * a last block's `norm1_context.linear` ↔ `context_block.adaLN_modulation.1`; families/ swappedGlobals / swappedHalves).
 * The permutation is applied exactly: the second file's layer is read with its up's row halves swapped, so both are
 * in the first's row order and merge as one layer (a row permutation commutes with ZipLoRA's per-column scaling).
 */
import { BaseModelFamily } from './families';
import { LoraLayer } from './layer';
import { pairingKey, splitComponent } from './naming';
import { twinModuleOf } from './transformer-names';

/** Up (out × rank, row-major; or rank × out when `transposed`) with the first and second half of its rows swapped. */
export function swapRowHalves(up: Float32Array, outFeatures: number, rank: number, transposed: boolean): Float32Array {
  const half = outFeatures / 2;
  const swapped = new Float32Array(up.length);
  if (!transposed) {
    swapped.set(up.subarray(half * rank), 0);
    swapped.set(up.subarray(0, half * rank), half * rank);
    return swapped;
  }
  for (let a = 0; a < rank; a++) {
    const row = up.subarray(a * outFeatures, (a + 1) * outFeatures);
    swapped.set(row.subarray(half), a * outFeatures);
    swapped.set(row.subarray(0, half), a * outFeatures + half);
  }
  return swapped;
}

/** The pairing key of the native twin a diffusers layer holds with its halves swapped, or undefined. */
function swappedTwinKey(layer: LoraLayer, family: BaseModelFamily): string | undefined {
  const { component, path } = splitComponent(layer.module);
  if (component !== 'transformer' || layer.kind !== 'linear' || layer.outFeatures % 2 !== 0) return undefined;
  const twin = twinModuleOf(family, path, 'native', layer);
  return twin?.swapHalves ? pairingKey(`transformer.${twin.path}`, family) : undefined;
}

export interface SwappedHalvesMatch {
  /** Pairs in file order; `second` is the second file's layer as read in the first's row order. */
  readonly pairs: { readonly module: string; readonly first: LoraLayer; readonly second: LoraLayer; readonly halvesSwapped: true }[];
  readonly onlyInFirst: LoraLayer[];
  readonly onlyInSecond: LoraLayer[];
}

/** `families`: the family each side's names are read in. */
export function pairSwappedHalves(onlyInFirst: readonly LoraLayer[], onlyInSecond: readonly LoraLayer[], families: readonly [BaseModelFamily, BaseModelFamily]): SwappedHalvesMatch {
  // Each layer's own key and, for a diffusers twin, the native key it stands for: two layers pair when one's twin key is the other's key.
  const keysOf = (layer: LoraLayer, family: BaseModelFamily) => ({ own: layer.key, twin: swappedTwinKey(layer, family) });
  const used = new Set<LoraLayer>();
  const pairs: SwappedHalvesMatch['pairs'] = [];
  for (const first of onlyInFirst) {
    const a = keysOf(first, families[0]);
    const second = onlyInSecond.find((s) => {
      if (used.has(s) || s.outFeatures !== first.outFeatures || s.inFeatures !== first.inFeatures || s.kind !== first.kind) return false;
      const b = keysOf(s, families[1]);
      return (a.twin !== undefined && a.twin === b.own) || (b.twin !== undefined && b.twin === a.own);
    });
    if (!second) continue;
    used.add(first).add(second);
    pairs.push({ module: first.module, first, second: { ...second, halvesSwapped: true }, halvesSwapped: true });
  }
  return { pairs, onlyInFirst: onlyInFirst.filter((l) => !used.has(l)), onlyInSecond: onlyInSecond.filter((l) => !used.has(l)) };
}
