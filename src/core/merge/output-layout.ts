/**
 * Where each layer goes in the merged file. A Flux file is written in ONE layout, the one its naming's loaders
 * read (README "Output that loads"): kohya naming in the BFL layout (`lora_unet_double_blocks_0_img_attn_qkv`,
 * fused qkv / linear1: what sd-scripts reads, and diffusers drops every `lora_unet_` key of a file that also has
 * `lora_transformer_` ones); diffusers naming in the diffusers layout (`transformer.transformer_blocks.0.attn.to_q`,
 * split: diffusers loads only `transformer.` + its own module names). Converting is exact: a fused module is cut
 * into its parts by rows of up (down is shared), parts are fused block-diagonally, renamed modules keep their
 * factors, and norm_out.linear ↔ final_layer.adaLN_modulation.1 swaps the two halves of up's rows (scale/shift).
 */
import { fusedFromParts } from '../lora/fuse-split';
import { diffusersPathOfBflFlux, bflPathOfDiffusersFlux } from '../lora/flux-names';
import { partRows, partsOfFused, splitPartOf } from '../lora/fused-projections';
import { FusedPart, LoraLayer } from '../lora/layer';
import { BaseModelFamily, isBflFluxPath, NamingScheme, pairingKey, splitComponent } from '../lora/naming';

export type FluxLayout = 'bfl' | 'diffusers';

export interface WriteTarget {
  /** Canonical name the tensors are written under. */
  readonly module: string;
  /** Only these rows of up (one split part of a fused module). */
  readonly rows?: { readonly start: number; readonly count: number };
  /** Up's two row halves swapped (norm_out.linear holds scale then shift; final_layer.adaLN_modulation.1 shift then scale). */
  readonly swapHalves?: boolean;
}

const NORM_OUT = 'transformer.norm_out.linear';
const ADALN = 'transformer.final_layer.adaLN_modulation.1';
/** Flux's single-stream MLP is 4 × hidden (mlp_ratio 4), the rows of linear1 after q, k and v. */
const FLUX_MLP_RATIO = 4;

export function fluxLayoutFor(scheme: NamingScheme, family: BaseModelFamily): FluxLayout | undefined {
  if (family !== 'flux') return undefined;
  return scheme === 'kohya' ? 'bfl' : 'diffusers';
}

function fusedParts(layer: LoraLayer, module: string): WriteTarget[] {
  return partsOfFused(module).map((p) => ({ module: p.canonical, rows: partRows(p.slot, layer.inFeatures, layer.outFeatures) }));
}

/** The targets of one layer (`module` is its canonical name: a pair's, or the layer's own). */
export function writeTargets(layer: LoraLayer, module: string, layout: FluxLayout | undefined): WriteTarget[] {
  const { component, path } = splitComponent(module);
  if (layout === undefined || component !== 'transformer') return layer.parts ? fusedParts(layer, module) : [{ module }];
  if (layout === 'diffusers') {
    if (!isBflFluxPath(path)) return [{ module }];
    if (partsOfFused(module).length) return fusedParts(layer, module);
    if (module === ADALN) return [{ module: NORM_OUT, swapHalves: true }];
    const renamed = diffusersPathOfBflFlux(path);
    return [{ module: renamed ? `transformer.${renamed}` : module }];
  }
  if (module === NORM_OUT) return [{ module: ADALN, swapHalves: true }];
  const renamed = bflPathOfDiffusersFlux(path);
  return [{ module: renamed ? `transformer.${renamed}` : module }];
}

/** Up (out × rank, row-major) as a target holds it. */
export function targetUp(up: Float32Array, rank: number, target: WriteTarget): Float32Array {
  const rows = target.rows ? up.subarray(target.rows.start * rank, (target.rows.start + target.rows.count) * rank) : up;
  if (!target.swapHalves) return rows;
  const half = rows.length / 2;
  const swapped = new Float32Array(rows.length);
  swapped.set(rows.subarray(half), 0);
  swapped.set(rows.subarray(0, half), half);
  return swapped;
}

/**
 * For the BFL layout, layers copied from one file that are split parts (to_q, add_k_proj, proj_mlp…) become one
 * exact fused layer per fused module, as the pairing fuses them (fuse-split.ts); every other layer is kept.
 */
export function fuseSplitCopies(layers: readonly LoraLayer[], layout: FluxLayout | undefined): LoraLayer[] {
  if (layout !== 'bfl') return [...layers];
  const groups = new Map<string, { layer: LoraLayer; slot: number }[]>();
  const kept: LoraLayer[] = [];
  for (const layer of layers) {
    const part = splitPartOf(layer.module);
    if (!part || layer.kind !== 'linear') kept.push(layer);
    else groups.set(part.fused, [...(groups.get(part.fused) ?? []), { layer, slot: part.slot }]);
  }
  for (const [fused, parts] of groups) {
    const hidden = parts[0].layer.inFeatures;
    const mlp = parts.find((p) => p.slot === 3)?.layer.outFeatures ?? FLUX_MLP_RATIO * hidden;
    const outFeatures = 3 * hidden + (/\.linear1$/.test(fused) ? mlp : 0);
    const shell: LoraLayer = { ...parts[0].layer, module: fused, key: pairingKey(fused), inFeatures: hidden, columns: hidden, outFeatures };
    const placed: FusedPart[] = [...parts].sort((a, b) => a.slot - b.slot).map((p) => ({ layer: p.layer, rowOffset: partRows(p.slot, hidden, outFeatures).start }));
    kept.push(fusedFromParts(shell, placed));
  }
  return kept;
}
