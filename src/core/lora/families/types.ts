/**
 * The shape of a diffusion-transformer family's naming facts (one file per family beside this one): how the
 * diffusers names of its modules map onto the model's own (native) names, which native modules fuse several
 * diffusers modules, and which look alike but differ by a permutation. Data only: the functions that use it are
 * in transformer-names.ts and fused-projections.ts.
 */

export type BaseModelFamily =
  | 'sd1' | 'sd2' | 'sdxl'
  | 'flux' | 'sd3' | 'qwen-image' | 'wan' | 'hunyuan-video' | 'ltx-video' | 'lumina2' | 'z-image'
  | 'llm' | 'unknown';

/** One kind of block: its container in each naming and what is renamed or fused inside it. */
export interface BlockNames {
  /** Container in diffusers naming, e.g. `transformer_blocks`. */
  readonly diffusers: string;
  /** Container in the native naming, e.g. `double_blocks` (the same string where diffusers kept it). */
  readonly native: string;
  /** diffusers module inside the block → native module holding the very same weight. */
  readonly renames: Readonly<Record<string, string>>;
  /** native fused module inside the block → its diffusers parts, in the order of the fused weight's rows. */
  readonly fused?: Readonly<Record<string, readonly string[]>>;
  /**
   * diffusers modules that have a native twin with the scale and shift halves of the rows swapped, where the
   * layer's out / in ratio is the one given (SD3's last block: norm1_context.linear is 2·hidden there, 6·hidden
   * elsewhere). They keep their own name, so they never pair by name with the native twin.
   */
  readonly swappedHalves?: Readonly<Record<string, number>>;
}

export interface TransformerFamilyNames {
  readonly family: BaseModelFamily;
  readonly blocks: readonly BlockNames[];
  /** Modules outside the blocks: diffusers path → native path of the same weight. */
  readonly globals: Readonly<Record<string, string>>;
  /**
   * Modules outside the blocks whose native twin has the scale and shift halves of the rows swapped: diffusers path →
   * native path (diffusers `norm_out.linear` holds scale then shift, native `final_layer.adaLN_modulation.1` shift then
   * scale). Never a pairing key by name; the output layout writes one as the other with the halves swapped back.
   */
  readonly swappedGlobals?: Readonly<Record<string, string>>;
}
