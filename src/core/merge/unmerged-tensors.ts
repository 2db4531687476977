/**
 * What a merge does with every input tensor it does not merge, by name, so that nothing is dropped silently:
 * layers in only one file are copied unchanged; tensors that are no B·A factor, and pairs whose shapes differ,
 * are left out, each with the reason.
 */
import { LoraLayer } from '../lora/layer';
import { PairingReport } from '../lora/pairing';

export type InputRole = 'content' | 'style';

export interface CopiedLayer {
  readonly file: InputRole;
  /** Canonical module name. */
  readonly module: string;
  /** The module(s) it is written as, when the output's layout names it otherwise (a Flux rename, fuse or split). */
  readonly writtenAs?: readonly string[];
}

/** What the writer reports back: copied layers it left out, and those it wrote under other names. */
export interface WriterOutcome {
  readonly leftOut: readonly LeftOutTensor[];
  readonly writtenAs: readonly CopiedLayer[];
}

export interface LeftOutTensor {
  readonly file: InputRole;
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

/** `writer`: what writing the output changed (output-layout.ts: clashes left out, layers renamed). */
export function unmergedTensors(
  pairing: PairingReport,
  extra: { readonly content: readonly string[]; readonly style: readonly string[] },
  writer: WriterOutcome = { leftOut: [], writtenAs: [] },
): UnmergedTensors {
  const copied: CopiedLayer[] = [
    ...pairing.onlyInFirst.map((l) => ({ file: 'content' as const, module: l.module })),
    ...pairing.onlyInSecond.map((l) => ({ file: 'style' as const, module: l.module })),
  ];
  const leftOut: LeftOutTensor[] = [
    ...extra.content.map((tensor) => ({ file: 'content' as const, tensor, reason: NOT_A_FACTOR })),
    ...extra.style.map((tensor) => ({ file: 'style' as const, tensor, reason: NOT_A_FACTOR })),
  ];
  for (const pair of pairing.refused) {
    const reason = `layer ${pair.module} refused: ${pair.reason}`;
    leftOut.push(...tensorNamesOf(pair.first).map((tensor) => ({ file: 'content' as const, tensor, reason })));
    leftOut.push(...tensorNamesOf(pair.second).map((tensor) => ({ file: 'style' as const, tensor, reason })));
  }
  leftOut.push(...writer.leftOut);
  const notCopied = new Set(writer.leftOut.map((t) => t.tensor));
  const renamed = new Map(writer.writtenAs.map((c) => [`${c.file} ${c.module}`, c.writtenAs]));
  return {
    copied: copied.filter((c) => !notCopiedModule(c, pairing, notCopied)).map((c) => {
      const writtenAs = renamed.get(`${c.file} ${c.module}`);
      return writtenAs ? { ...c, writtenAs } : c;
    }),
    leftOut,
  };
}

/** Whether a copied layer's tensors were all left out by the writer. */
function notCopiedModule(copied: CopiedLayer, pairing: PairingReport, leftOut: ReadonlySet<string>): boolean {
  const layers = copied.file === 'content' ? pairing.onlyInFirst : pairing.onlyInSecond;
  const layer = layers.find((l) => l.module === copied.module);
  return layer !== undefined && tensorNamesOf(layer).every((t) => leftOut.has(t));
}
