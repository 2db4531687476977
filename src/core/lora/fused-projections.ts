/**
 * Projections that one naming fuses into a single module and another splits into parts, per family (the `fused`
 * tables of the specs in families/): a native `img_attn.qkv` = diffusers `attn.to_q | to_k | to_v` stacked by rows, a
 * single-stream `linear1` = `attn.to_q | to_k | to_v | proj_mlp`. Each part is a row range of the fused weight (partRows).
 */
import { BaseModelFamily, namesOfFamily, TRANSFORMER_NAMES, TransformerNames } from './families';
import { dotsToUnderscores } from './flat-names';
import { insideBlock } from './transformer-names';

export interface SplitPart {
  /** Canonical name of the fused module, e.g. `transformer.double_blocks.0.img_attn.qkv`. */
  readonly fused: string;
  /** Position of the part in the fused rows (0 = q, 1 = k, 2 = v, 3 = proj_mlp). */
  readonly slot: number;
}

/** The fused module a diffusers-named transformer layer of this family is a part of, or undefined. */
export function splitPartOf(canonical: string, family: BaseModelFamily): SplitPart | undefined {
  const names = namesOfFamily(family);
  if (!names || !canonical.startsWith('transformer.')) return undefined;
  const path = canonical.slice('transformer.'.length);
  for (const block of names.blocks) {
    const inside = insideBlock(path, block.diffusers);
    if (!inside) continue;
    for (const [fused, parts] of Object.entries(block.fused ?? {})) {
      const slot = parts.indexOf(inside[1]);
      if (slot >= 0) return { fused: `transformer.${block.native}.${inside[0]}.${fused}`, slot };
    }
  }
  return undefined;
}

/**
 * Rows [start, start + count) of the fused weight that a part occupies. q, k and v are `hidden` rows each (hidden =
 * the fused module's input width) and a fourth part (proj_mlp) the rest; a qkv narrower than 3·hidden is grouped-query
 * attention: q has `hidden` rows, k and v half of the rest each.
 */
export function partRows(slot: number, hidden: number, fusedOut: number): { start: number; count: number } {
  if (fusedOut < 3 * hidden) {
    const kv = (fusedOut - hidden) / 2;
    return slot === 0 ? { start: 0, count: hidden } : { start: hidden + (slot - 1) * kv, count: kv };
  }
  const start = slot * hidden;
  return { start, count: slot === 3 ? fusedOut - 3 * hidden : hidden };
}

function partsIn(names: TransformerNames, path: string): { readonly canonical: string; readonly slot: number }[] | undefined {
  for (const block of names.blocks) {
    const inside = insideBlock(path, block.native);
    if (!inside) continue;
    const fusedName = Object.keys(block.fused ?? {}).find((name) => dotsToUnderscores(name) === dotsToUnderscores(inside[1]));
    const parts = fusedName ? block.fused![fusedName] : undefined;
    if (parts) return parts.map((part, slot) => ({ canonical: `transformer.${block.diffusers}.${inside[0]}.${part}`, slot }));
  }
  return undefined;
}

/**
 * Every split part of a fused module (canonical names, in row order), or [] for a module that is not fused. Without
 * a known family the first family that fuses a module of that name answers (give the family where two families fuse
 * a module of the same name but name its parts differently).
 */
export function partsOfFused(fused: string, family?: BaseModelFamily): { readonly canonical: string; readonly slot: number }[] {
  if (!fused.startsWith('transformer.')) return [];
  const path = fused.slice('transformer.'.length);
  const own = family && namesOfFamily(family);
  const candidates = own ? [own] : TRANSFORMER_NAMES;
  for (const names of candidates) {
    const parts = partsIn(names, path);
    if (parts) return parts;
  }
  return [];
}
