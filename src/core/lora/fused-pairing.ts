/**
 * Second pass of the pairing: a fused module in one file (native `img_attn.qkv`, `linear1`) with its split parts in
 * the other (diffusers `to_q`/`to_k`/`to_v`, `proj_mlp`). The parts become one exact LoRA on the fused module
 * (fuse-split.ts), so the pair is merged where the weight is one matrix.
 */
import { fusedFromParts } from './fuse-split';
import { partRows, splitPartOf } from './fused-projections';
import { BaseModelFamily } from './families';
import { FusedPart, LoraLayer } from './layer';
import { pairingKey } from './naming';

export interface FusedSplitMatch {
  /** Pairs in file order (first, second); `split` says which side was built from parts. */
  readonly pairs: { readonly module: string; readonly first: LoraLayer; readonly second: LoraLayer; readonly split: 'first' | 'second' }[];
  readonly onlyInFirst: LoraLayer[];
  readonly onlyInSecond: LoraLayer[];
}

function partsByFusedKey(layers: readonly LoraLayer[], family: BaseModelFamily): Map<string, { layer: LoraLayer; slot: number }[]> {
  const groups = new Map<string, { layer: LoraLayer; slot: number }[]>();
  for (const layer of layers) {
    const part = splitPartOf(layer.module, family);
    if (!part) continue;
    const key = pairingKey(part.fused, family);
    groups.set(key, [...(groups.get(key) ?? []), { layer, slot: part.slot }]);
  }
  return groups;
}

/** The parts as placed in the fused rows, or undefined when a part's shape does not fit the fused module. */
function placedParts(fused: LoraLayer, parts: readonly { layer: LoraLayer; slot: number }[]): FusedPart[] | undefined {
  const placed: FusedPart[] = [];
  for (const { layer, slot } of [...parts].sort((a, b) => a.slot - b.slot)) {
    const rows = partRows(slot, fused.inFeatures, fused.outFeatures);
    if (layer.kind !== 'linear' || fused.kind !== 'linear' || layer.inFeatures !== fused.inFeatures || layer.outFeatures !== rows.count) return undefined;
    placed.push({ layer, rowOffset: rows.start });
  }
  return placed;
}

/** `families`: the model family each side's names are read in (the split side's decides which modules are parts). */
export function pairFusedWithSplit(onlyInFirst: readonly LoraLayer[], onlyInSecond: readonly LoraLayer[], families: readonly [BaseModelFamily, BaseModelFamily]): FusedSplitMatch {
  const used = new Set<LoraLayer>();
  const pairs: FusedSplitMatch['pairs'] = [];
  const sides: ['first' | 'second', readonly LoraLayer[], readonly LoraLayer[], BaseModelFamily][] = [
    ['second', onlyInFirst, onlyInSecond, families[1]],
    ['first', onlyInSecond, onlyInFirst, families[0]],
  ];
  for (const [split, fusedSide, splitSide, family] of sides) {
    const groups = partsByFusedKey(splitSide, family);
    for (const fused of fusedSide) {
      const parts = groups.get(fused.key);
      if (!parts || used.has(fused)) continue;
      const placed = placedParts(fused, parts);
      if (!placed) continue;
      const composite = fusedFromParts(fused, placed);
      used.add(fused);
      for (const p of placed) used.add(p.layer);
      pairs.push(split === 'second' ? { module: fused.module, first: fused, second: composite, split } : { module: fused.module, first: composite, second: fused, split });
    }
  }
  return { pairs, onlyInFirst: onlyInFirst.filter((l) => !used.has(l)), onlyInSecond: onlyInSecond.filter((l) => !used.has(l)) };
}
