/**
 * diffusers-named transformer modules → the native module holding the same weight, per family (the tables in
 * families/): so that a diffusers-named layer and a natively named one pair, while each keeps its own name (and so
 * its file's naming on output). Split parts of fused modules are not renames: see fused-projections.ts.
 */
import { BaseModelFamily, namesOfFamily, TransformerNames } from './families';
import { dotsToUnderscores } from './flat-names';

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

function renamed(names: TransformerNames, path: string, shape: LayerShape | undefined): string | undefined {
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

/** The same weight in the other naming: its path there, and whether up's two row halves (scale, shift) are swapped. */
export interface TwinModule {
  readonly path: string;
  readonly swapHalves: boolean;
}

export type TransformerNaming = 'native' | 'diffusers';

/**
 * `table` (diffusers → native) looked up from either side: the tables are read both ways, never inverted into copies.
 * A native key is compared flattened (as pairing keys are): a kohya name may unflatten with dots (`img_attn.proj`)
 * where the family's own name has an underscore (`img_attn_proj`).
 */
function lookUp(table: Readonly<Record<string, string>> | undefined, key: string, to: TransformerNaming): string | undefined {
  if (!table) return undefined;
  if (to === 'native') return Object.hasOwn(table, key) ? table[key] : undefined;
  return Object.entries(table).find(([, native]) => dotsToUnderscores(native) === dotsToUnderscores(key))?.[0];
}

function twin(names: TransformerNames, path: string, shape: LayerShape | undefined, to: TransformerNaming): TwinModule | undefined {
  const global = lookUp(names.globals, path, to);
  if (global !== undefined) return { path: global, swapHalves: false };
  const swappedGlobal = lookUp(names.swappedGlobals, path, to);
  if (swappedGlobal !== undefined) return { path: swappedGlobal, swapHalves: true };
  for (const block of names.blocks) {
    const inside = insideBlock(path, to === 'native' ? block.diffusers : block.native);
    if (!inside) continue;
    const [index, inner] = inside;
    const target = lookUp(block.renames, inner, to);
    if (target === undefined) continue;
    const diffusersInner = to === 'native' ? inner : target;
    const ratio = block.swappedHalves?.[diffusersInner];
    const swapHalves = ratio !== undefined && shape !== undefined && shape.outFeatures === ratio * shape.inFeatures;
    return { path: `${to === 'native' ? block.native : block.diffusers}.${index}.${target}`, swapHalves };
  }
  return undefined;
}

/**
 * A transformer module of this family in the other naming (`to`): renamed, or a swapped-halves twin (swapHalves).
 * Split parts and fused modules are not twins (fused-projections.ts). Undefined: no twin, the path is kept.
 */
export function twinModuleOf(family: BaseModelFamily, path: string, to: TransformerNaming, shape?: LayerShape): TwinModule | undefined {
  const names = namesOfFamily(family);
  return names && twin(names, path, shape, to);
}
