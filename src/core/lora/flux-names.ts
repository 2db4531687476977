/**
 * The Flux modules that diffusers names differently from the BFL original but that hold the very same weight
 * (a rename, not a split or a permutation): so that a diffusers-named Flux layer and a BFL-named one pair.
 * From the Flux conversion maps of diffusers (convert_flux_to_diffusers) and ComfyUI (utils.flux_to_diffusers).
 * Left out on purpose: split q/k/v and proj_mlp (parts of the fused img_attn.qkv / txt_attn.qkv / linear1) and
 * norm_out.linear (its scale and shift halves are swapped relative to final_layer.adaLN_modulation.1): those
 * layers do not pair by name.
 */
const DOUBLE_BLOCK: Record<string, string> = {
  'attn.to_out.0': 'img_attn.proj',
  'attn.to_add_out': 'txt_attn.proj',
  'norm1.linear': 'img_mod.lin',
  'norm1_context.linear': 'txt_mod.lin',
  'ff.net.0.proj': 'img_mlp.0',
  'ff.net.2': 'img_mlp.2',
  'ff_context.net.0.proj': 'txt_mlp.0',
  'ff_context.net.2': 'txt_mlp.2',
};
const SINGLE_BLOCK: Record<string, string> = {
  'norm.linear': 'modulation.lin',
  proj_out: 'linear2',
};
const GLOBAL: Record<string, string> = {
  x_embedder: 'img_in',
  context_embedder: 'txt_in',
  'time_text_embed.timestep_embedder.linear_1': 'time_in.in_layer',
  'time_text_embed.timestep_embedder.linear_2': 'time_in.out_layer',
  'time_text_embed.text_embedder.linear_1': 'vector_in.in_layer',
  'time_text_embed.text_embedder.linear_2': 'vector_in.out_layer',
  'time_text_embed.guidance_embedder.linear_1': 'guidance_in.in_layer',
  'time_text_embed.guidance_embedder.linear_2': 'guidance_in.out_layer',
  proj_out: 'final_layer.linear',
};

const invert = (map: Record<string, string>) => Object.fromEntries(Object.entries(map).map(([d, b]) => [b, d]));

/** Per block kind: its diffusers and BFL container names and the renames inside a block, diffusers → BFL. */
const BLOCKS: ReadonlyArray<{ diffusers: string; bfl: string; toBfl: Record<string, string>; toDiffusers: Record<string, string> }> = [
  { diffusers: 'transformer_blocks', bfl: 'double_blocks', toBfl: DOUBLE_BLOCK, toDiffusers: invert(DOUBLE_BLOCK) },
  { diffusers: 'single_transformer_blocks', bfl: 'single_blocks', toBfl: SINGLE_BLOCK, toDiffusers: invert(SINGLE_BLOCK) },
];
const GLOBAL_TO_DIFFUSERS = invert(GLOBAL);

function renamed(path: string, to: 'bfl' | 'diffusers'): string | undefined {
  const block = /^([a-z_]+)\.(\d+)\.(.+)$/.exec(path);
  if (!block) return (to === 'bfl' ? GLOBAL : GLOBAL_TO_DIFFUSERS)[path];
  const [, container, index, rest] = block;
  const kind = BLOCKS.find((b) => (to === 'bfl' ? b.diffusers : b.bfl) === container);
  const inside = kind && (to === 'bfl' ? kind.toBfl : kind.toDiffusers)[rest];
  return inside && `${to === 'bfl' ? kind.bfl : kind.diffusers}.${index}.${inside}`;
}

/** A diffusers Flux transformer path → the BFL path of the same weight, or undefined when there is none by renaming. */
export function bflPathOfDiffusersFlux(path: string): string | undefined {
  return renamed(path, 'bfl');
}

/** A BFL Flux path → the diffusers path of the same weight (the inverse of bflPathOfDiffusersFlux), or undefined. */
export function diffusersPathOfBflFlux(path: string): string | undefined {
  return renamed(path, 'diffusers');
}
