/**
 * Projections that one naming fuses into a single module and another splits into parts: Flux's BFL
 * `img_attn.qkv` = diffusers `attn.to_q | to_k | to_v` stacked by rows, `txt_attn.qkv` = `attn.add_q_proj | add_k_proj
 * | add_v_proj`, single-stream `linear1` = `attn.to_q | to_k | to_v | proj_mlp` (diffusers' and ComfyUI's Flux
 * conversion maps). Each part is a row range of the fused weight: q, k and v are `hidden` rows each (hidden = the
 * fused module's input width), proj_mlp the rest.
 */

export interface SplitPart {
  /** Canonical name of the fused module, e.g. `transformer.double_blocks.0.img_attn.qkv`. */
  readonly fused: string;
  /** Position of the part in the fused rows (0 = q, 1 = k, 2 = v, 3 = proj_mlp). */
  readonly slot: number;
}

const DOUBLE_PARTS: Record<string, [string, number]> = {
  'attn.to_q': ['img_attn.qkv', 0],
  'attn.to_k': ['img_attn.qkv', 1],
  'attn.to_v': ['img_attn.qkv', 2],
  'attn.add_q_proj': ['txt_attn.qkv', 0],
  'attn.add_k_proj': ['txt_attn.qkv', 1],
  'attn.add_v_proj': ['txt_attn.qkv', 2],
};
const SINGLE_PARTS: Record<string, number> = { 'attn.to_q': 0, 'attn.to_k': 1, 'attn.to_v': 2, proj_mlp: 3 };

/** The fused module a diffusers-named Flux layer is a part of, or undefined. */
export function splitPartOf(canonical: string): SplitPart | undefined {
  const m = /^transformer\.(transformer_blocks|single_transformer_blocks)\.(\d+)\.(.+)$/.exec(canonical);
  if (!m) return undefined;
  if (m[1] === 'transformer_blocks') {
    const part = DOUBLE_PARTS[m[3]];
    return part && { fused: `transformer.double_blocks.${m[2]}.${part[0]}`, slot: part[1] };
  }
  const slot = SINGLE_PARTS[m[3]];
  return slot === undefined ? undefined : { fused: `transformer.single_blocks.${m[2]}.linear1`, slot };
}

/** Rows [start, start + count) of the fused weight that a part occupies. */
export function partRows(slot: number, hidden: number, fusedOut: number): { start: number; count: number } {
  const start = slot * hidden;
  return { start, count: slot === 3 ? fusedOut - 3 * hidden : hidden };
}

/** Every split part of a fused module (canonical names, in row order), or [] for a module that is not fused. */
export function partsOfFused(fused: string): { readonly canonical: string; readonly slot: number }[] {
  const double = /^transformer\.double_blocks\.(\d+)\.(img|txt)_attn\.qkv$/.exec(fused);
  if (double) {
    return Object.entries(DOUBLE_PARTS)
      .filter(([, [target]]) => target === `${double[2]}_attn.qkv`)
      .map(([part, [, slot]]) => ({ canonical: `transformer.transformer_blocks.${double[1]}.${part}`, slot }));
  }
  const single = /^transformer\.single_blocks\.(\d+)\.linear1$/.exec(fused);
  if (single) return Object.entries(SINGLE_PARTS).map(([part, slot]) => ({ canonical: `transformer.single_transformer_blocks.${single[1]}.${part}`, slot }));
  return [];
}
