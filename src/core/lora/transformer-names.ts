/**
 * diffusers-named transformer modules → the native module holding the same weight, per family (the tables in
 * families/): so that a diffusers-named layer and a natively named one pair, while each keeps its own name (and so
 * its file's naming on output). Split parts of fused modules are not renames: see fused-projections.ts.
 */
import { BaseModelFamily, namesOfFamily, TransformerFamilyNames } from './families';

/** A layer's ΔW shape, for the rules that depend on it (swapped halves). */
export interface LayerShape {
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** `transformer_blocks.3.attn.to_q` in a block kind → [index, module inside the block], or undefined. */
export function insideBlock(path: string, container: string): [index: string, inner: string] | undefined {
  if (!path.startsWith(`${container}.`)) return undefined;
  const m = /^(\d+)\.(.+)$/.exec(path.slice(container.length + 1));
  return m ? [m[1], m[2]] : undefined;
}

function renamed(names: TransformerFamilyNames, path: string, shape: LayerShape | undefined): string | undefined {
  const global = names.globals[path];
  if (global !== undefined) return global;
  for (const block of names.blocks) {
    const inside = insideBlock(path, block.diffusers);
    if (!inside) continue;
    const [index, inner] = inside;
    const ratio = block.swappedHalves?.[inner];
    if (ratio !== undefined && shape && shape.outFeatures === ratio * shape.inFeatures) return undefined;
    const target = block.renames[inner];
    if (target !== undefined) return `${block.native}.${index}.${target}`;
  }
  return undefined;
}

/** The native path of the weight a diffusers-named transformer module of this family holds, or undefined when there is none by renaming. */
export function nativePathOf(family: BaseModelFamily, path: string, shape?: LayerShape): string | undefined {
  const names = namesOfFamily(family);
  return names && renamed(names, path, shape);
}
