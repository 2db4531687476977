/**
 * The shape of a model family's spec (one file per family beside this one, listed in index.ts): how to recognise
 * its LoRAs (metadata and the evidence of the layers), its labels, how its module paths look in each naming, which
 * native modules fuse several diffusers modules and which look alike but differ by a permutation, its kohya
 * prefixes and its fused row layout. Data and small predicates only: naming, recognition, pairing and the output
 * layout loop over the specs and name no family themselves.
 */

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
   * layer's out / in ratio is the one given (a last block whose module is 2·hidden there, 6·hidden elsewhere).
   * They keep their own name, so they never pair by name with the native twin.
   */
  readonly swappedHalves?: Readonly<Record<string, number>>;
}

/** How a diffusion transformer's diffusers module names map onto its own (native) ones. */
export interface TransformerNames {
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

/** A path inside a diffusion transformer (canonical name without `transformer.`) with its ΔW shape. */
export interface TransformerLayerInfo {
  readonly path: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** A layer as recognition sees it: canonical module name and ΔW shape. */
export interface LayerFacts {
  readonly module: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** What recognition knows about a file, computed once and shown to every family's recognisers. */
export interface FileEvidence {
  readonly layers: readonly LayerFacts[];
  /** Pipeline components present (`unet`, `text_encoder_2`…; `none` for a module without one). */
  readonly components: ReadonlySet<string>;
  /** Modules without a pipeline component (a language model's). */
  readonly bareModules: readonly string[];
  /** The diffusion transformer's layers, and their most common input width. */
  readonly transformer: readonly TransformerLayerInfo[];
  readonly hidden: number | undefined;
  /** The text-encoder component that holds a T5 (`encoder.block.N…`), if any. */
  readonly t5Component: string | undefined;
  /** The base model an adapter config beside the file names. */
  readonly configBaseModel?: string;
}

/** A recogniser's answer: this family (or, with `unknown`, a family it cannot tell apart), in words. */
export interface Verdict {
  readonly label: string;
  readonly evidence: string[];
  readonly unknown?: true;
  /** Other families these layers fit as well (the same names and widths): paired with one of them, the file is read in it. */
  readonly alsoFits?: readonly string[];
}

/** What a family's variant rule reads besides the layers: the trainer's metadata and the file's name. */
export interface VariantFacts {
  readonly metadata: Readonly<Record<string, string>>;
  readonly fileName: string | undefined;
  readonly hidden: number | undefined;
}

/**
 * A finer reading within a family where trainers record it: a release whose weights have the same shapes as
 * another's (`2.1` / `2.2`), and an expert of a model made of several same-shaped ones (`high-noise`).
 */
export interface FamilyVariant {
  readonly release?: string;
  readonly expert?: string;
  /** The label with the release and expert in it. */
  readonly label: string;
  readonly evidence: readonly string[];
}

/**
 * One recognition rule. `order` places it among all families' rules (lowest first, the first answer decides);
 * `transformer` rules only run on files with transformer layers and get the trained text encoders added.
 */
export interface Recogniser {
  readonly order: number;
  readonly reads: 'transformer' | 'file';
  readonly recognise: (evidence: FileEvidence) => Verdict | undefined;
}

/** Trainer metadata that names the family: `key` matching `pattern`; `order` places it among all families' rules. */
export interface MetadataRule {
  readonly order: number;
  readonly key: string;
  readonly pattern: RegExp;
}

/** Where paths without a pipeline component belong: any path matching `pattern` puts the file's bare paths in `component`. */
export interface BarePathRule {
  readonly component: 'unet' | 'transformer';
  readonly pattern: RegExp;
}

/** What a file holding this family's weights but no LoRA looks like (a checkpoint, an embedding). */
export interface FileLook {
  /** Places the look among the generic ones and other families' (lowest first, the first match decides). */
  readonly order: number;
  readonly test: (names: readonly string[]) => boolean;
  readonly looksLike: string;
}

/** A trainer's LoRA tensor naming that only this family's files use: `pattern` on a tensor name → its module and part. */
export interface FactorNaming {
  readonly scheme: string;
  /** For people, as `inspect` names the format. */
  readonly name: string;
  readonly pattern: RegExp;
  readonly factor: (m: RegExpExecArray) => { readonly module: string; readonly part: 'down' | 'up' };
}

/** An adapter for this family that is not a plain B·A product, so a merge refuses it. */
export interface FamilyAdapter {
  readonly kind: string;
  /** A tensor name of the adapter; group 1 is its module. */
  readonly pattern: RegExp;
  readonly name: string;
  /** What a user can do instead. */
  readonly advice: string;
  /** Its `lora_B.bias` tensors are part of it, not a second kind of adapter. */
  readonly includesBiases?: true;
}

/**
 * Where a container of blocks sits along the network in the charts (0 input layers, 1 the main blocks, 2 the middle,
 * 3 the blocks after it, 4 output layers; fractions order containers between) and its short label.
 */
export interface ChartStage {
  readonly rank: number;
  readonly short?: string;
}

export interface FamilySpec<Id extends string = string> {
  readonly id: Id;
  /** For people: "SDXL", "Wan 2.1 / 2.2"… (recognisers may give a finer label). */
  readonly label: string;
  readonly metadata?: readonly MetadataRule[];
  readonly recognisers?: readonly Recogniser[];
  /** Identifiers with underscores in this family's module names, so kohya's flattened names split back into modules. */
  readonly compoundIdentifiers?: readonly string[];
  /** The family's own (native) transformer layout, which kohya-style trainers write under `lora_unet_` and ai-toolkit under `diffusion_model.`. */
  readonly nativePaths?: RegExp;
  /** diffusers-layout transformer paths that kohya-style trainers also write under `lora_unet_` (read back as transformer layers). */
  readonly diffusersPaths?: RegExp;
  /** diffusers-layout paths written under `lora_unet_` in kohya naming (as their loaders read them), whatever the file's family. */
  readonly unetPrefixedDiffusersPaths?: RegExp;
  /** Further paths that only a diffusion transformer has (a `transformer.` name with one is this component). */
  readonly transformerPaths?: RegExp;
  /** Paths that say which component a file's names without a component prefix belong to. */
  readonly barePaths?: readonly BarePathRule[];
  readonly names?: TransformerNames;
  /** Rows of a fused single-stream module's MLP part: this ratio × hidden. */
  readonly mlpRatio?: number;
  /** kohya prefixes of the text encoders where this family's differ from `lora_te_` / `lora_te2_` / `lora_te3_`. */
  readonly kohyaTextEncoderPrefixes?: Readonly<Partial<Record<'text_encoder' | 'text_encoder_2' | 'text_encoder_3', string>>>;
  /** Every transformer layer written under `lora_unet_` in kohya naming (its own names are the diffusers ones). */
  readonly kohyaTransformerUnderUnet?: true;
  /** Text-encoder components that the family's pipeline names otherwise (a kohya `lora_te3_` that is diffusers' `text_encoder_2`). */
  readonly componentAliases?: Readonly<Record<string, string>>;
  /** A Stable Diffusion UNet: the up blocks that hold attentions (LDM numbering), and the layout kohya writes it in. */
  readonly unet?: { readonly upBlocksWithAttention: readonly number[]; readonly kohyaLayout: 'ldm' | 'diffusers' };
  readonly factorNamings?: readonly FactorNaming[];
  readonly adapters?: readonly FamilyAdapter[];
  /** The family's block containers, as the charts order and label them (network-blocks.ts). */
  readonly chartStages?: Readonly<Record<string, ChartStage>>;
  /** The release and expert of a file, where its metadata or name tell them (given the recogniser's label). */
  readonly variant?: (facts: VariantFacts, label: string) => FamilyVariant | undefined;
  /** Files of this family that hold no LoRA layer, as `inspect` describes them. */
  readonly fileLooks?: readonly FileLook[];
}
