/**
 * What a merge does with every input tensor it does not merge, by name, so that nothing is dropped silently:
 * layers only one input has (or only one has a weight above 0 in) are copied, scaled by that input's weight;
 * tensors that are no B·A factor, layers whose shapes differ between inputs, and layers of skipped blocks are left
 * out, each with the reason.
 */
import { LoraLayer } from '../lora/layer';
import { WeightedGroups } from './weighted-groups';

export interface CopiedLayer {
  /** 0-based index of the input it is copied from (the request's order). */
  readonly input: number;
  /** Canonical module name. */
  readonly module: string;
  /** The input's effective weight there, folded into the copy (1: unchanged). */
  readonly weight: number;
  /** The module(s) it is written as, when the output's layout names it otherwise (a Flux rename, fuse or split). */
  readonly writtenAs?: readonly string[];
}

/** What the writer reports back: copied layers it left out, and those it wrote under other names. */
export interface WriterOutcome {
  readonly leftOut: readonly LeftOutTensor[];
  readonly writtenAs: readonly { readonly input: number; readonly module: string; readonly writtenAs: readonly string[] }[];
}

export interface LeftOutTensor {
  readonly input: number;
  /** The tensor's name in its file. */
  readonly tensor: string;
  readonly reason: string;
}

export interface UnmergedTensors {
  readonly copied: readonly CopiedLayer[];
  readonly leftOut: readonly LeftOutTensor[];
}

const NOT_A_FACTOR = 'not a LoRA factor (no B·A pair to merge or copy)';

/** A layer's tensors in its file (each part's, for a layer fused from split parts). */
export function tensorNamesOf(layer: LoraLayer): string[] {
  const layers = layer.parts ? layer.parts.map((p) => p.layer) : [layer];
  return layers.flatMap((l) => [l.down.name, l.up.name, ...(l.alphaTensor ? [l.alphaTensor.name] : [])]);
}

/**
 * `extra`: per input, its tensors that are no factor. `writer`: what writing the output changed (output-layout.ts:
 * clashes left out, layers renamed).
 */
export function unmergedTensors(groups: WeightedGroups, extra: readonly (readonly string[])[], writer: WriterOutcome = { leftOut: [], writtenAs: [] }): UnmergedTensors {
  const copied: CopiedLayer[] = groups.copied.map((c) => ({ input: c.member.input, module: c.member.layer.module, weight: c.weight }));
  const leftOut: LeftOutTensor[] = extra.flatMap((tensors, input) => tensors.map((tensor) => ({ input, tensor, reason: NOT_A_FACTOR })));
  for (const group of groups.refused) {
    const reason = `layer ${group.module} refused: ${group.reason}`;
    for (const member of group.members) leftOut.push(...tensorNamesOf(member.layer).map((tensor) => ({ input: member.input, tensor, reason })));
  }
  for (const group of groups.skipped) {
    for (const member of group.members) leftOut.push(...tensorNamesOf(member.layer).map((tensor) => ({ input: member.input, tensor, reason: group.reason })));
  }
  leftOut.push(...writer.leftOut);
  const notCopied = new Set(writer.leftOut.map((t) => `${t.input} ${t.tensor}`));
  const renamed = new Map(writer.writtenAs.map((c) => [`${c.input} ${c.module}`, c.writtenAs]));
  const layerOf = new Map(groups.copied.map((c) => [`${c.member.input} ${c.member.layer.module}`, c.member.layer]));
  return {
    copied: copied
      // A copied layer whose tensors the writer all left out was not copied.
      .filter((c) => !tensorNamesOf(layerOf.get(`${c.input} ${c.module}`)!).every((t) => notCopied.has(`${c.input} ${t}`)))
      .map((c) => {
        const writtenAs = renamed.get(`${c.input} ${c.module}`);
        return writtenAs ? { ...c, writtenAs } : c;
      }),
    leftOut,
  };
}
