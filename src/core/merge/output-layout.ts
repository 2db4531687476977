/**
 * Where each layer goes in the merged file. A diffusion transformer with a naming table (its family's spec in
 * lora/families/) is written in ONE layout per file, the one its naming's loaders read (docs/model-families.md,
 * "Output that loads"): kohya naming in the native layout (`lora_unet_double_blocks_0_img_attn_qkv`, fused: what
 * sd-scripts / musubi-tuner read, and diffusers drops every `lora_unet_` key of a file that also has
 * `lora_transformer_` ones); diffusers naming in the diffusers layout (`transformer.transformer_blocks.0.attn.to_q`,
 * split: diffusers loads `transformer.` + its own module names). Converting is exact: a fused module is cut into its
 * parts by rows of up (down is shared), parts are fused block-diagonally, renamed modules keep their factors, and a
 * swapped-halves twin (norm_out.linear ↔ final_layer.adaLN_modulation.1) has the two halves of up's rows swapped.
 */
import { BaseModelFamily, namesOfFamily, specOf } from '../lora/families';
import { fusedFromParts } from '../lora/fuse-split';
import { partRows, partsOfFused, splitPartOf } from '../lora/fused-projections';
import { FusedPart, LoraLayer } from '../lora/layer';
import { NamingScheme, pairingKey, splitComponent } from '../lora/naming';
import { swapRowHalves } from '../lora/swapped-halves';
import { TransformerNaming, twinModuleOf } from '../lora/transformer-names';

export interface WriteTarget {
  /** Canonical name the tensors are written under. */
  readonly module: string;
  /** Only these rows of up (one split part of a fused module). */
  readonly rows?: { readonly start: number; readonly count: number };
  /** Up's two row halves swapped (diffusers holds scale then shift; the native twin shift then scale). */
  readonly swapHalves?: boolean;
}

/** The transformer layout a file of this naming and family is written in, or undefined for a family without a naming table. */
export function transformerLayoutFor(scheme: NamingScheme, family: BaseModelFamily): TransformerNaming | undefined {
  if (!namesOfFamily(family)) return undefined;
  return scheme === 'kohya' ? 'native' : 'diffusers';
}

function fusedParts(layer: LoraLayer, module: string, family: BaseModelFamily): WriteTarget[] {
  return partsOfFused(module, family).map((p) => ({ module: p.canonical, rows: partRows(p.slot, layer.inFeatures, layer.outFeatures) }));
}

/** The targets of one layer (`module` is its canonical name: a pair's, or the layer's own). */
export function writeTargets(layer: LoraLayer, module: string, layout: TransformerNaming | undefined, family: BaseModelFamily): WriteTarget[] {
  const { component, path } = splitComponent(module);
  if (layout === undefined || component !== 'transformer') return layer.parts ? fusedParts(layer, module, family) : [{ module }];
  if (layout === 'diffusers' && partsOfFused(module, family).length) return fusedParts(layer, module, family);
  const twin = twinModuleOf(family, path, layout, layer);
  if (!twin) return [{ module }];
  return [{ module: `transformer.${twin.path}`, ...(twin.swapHalves ? { swapHalves: true } : {}) }];
}

/** Up (out × rank, row-major) as a target holds it. */
export function targetUp(up: Float32Array, rank: number, target: WriteTarget): Float32Array {
  const rows = target.rows ? up.subarray(target.rows.start * rank, (target.rows.start + target.rows.count) * rank) : up;
  return target.swapHalves ? swapRowHalves(rows, rows.length / rank, rank, false) : rows;
}

/**
 * Rows of each slot of a fused module built from the parts present: a missing q is `hidden`, k / v the present
 * one's, the MLP part (slot 3) the family's mlpRatio · hidden.
 */
function slotRows(parts: readonly { layer: LoraLayer; slot: number }[], slots: number, hidden: number, mlpRatio: number | undefined): number[] {
  const rowsOf = (slot: number) => parts.find((p) => p.slot === slot)?.layer.outFeatures;
  const missing = (slot: number) => (slot === 3 ? (mlpRatio ?? 0) * hidden : slot === 0 ? hidden : rowsOf(3 - slot) ?? hidden);
  return Array.from({ length: slots }, (_, slot) => rowsOf(slot) ?? missing(slot));
}

/**
 * For the native layout, layers copied from one file that are split parts (to_q, add_k_proj, proj_mlp…) become one
 * exact fused layer per fused module, as the pairing fuses them (fuse-split.ts); every other layer is kept.
 */
export function fuseSplitCopies(layers: readonly LoraLayer[], layout: TransformerNaming | undefined, family: BaseModelFamily): LoraLayer[] {
  if (layout !== 'native') return [...layers];
  const groups = new Map<string, { layer: LoraLayer; slot: number }[]>();
  const kept: LoraLayer[] = [];
  for (const layer of layers) {
    const part = splitPartOf(layer.module, family);
    if (!part || layer.kind !== 'linear') kept.push(layer);
    else groups.set(part.fused, [...(groups.get(part.fused) ?? []), { layer, slot: part.slot }]);
  }
  for (const [fused, parts] of groups) {
    const hidden = parts[0].layer.inFeatures;
    const outFeatures = slotRows(parts, partsOfFused(fused, family).length, hidden, specOf(family)?.mlpRatio).reduce((a, b) => a + b, 0);
    const shell: LoraLayer = { ...parts[0].layer, module: fused, key: pairingKey(fused, family), inFeatures: hidden, columns: hidden, outFeatures };
    const placed: FusedPart[] = [...parts].sort((a, b) => a.slot - b.slot).map((p) => ({ layer: p.layer, rowOffset: partRows(p.slot, hidden, outFeatures).start }));
    kept.push(fusedFromParts(shell, placed));
  }
  return kept;
}
