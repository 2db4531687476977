/** The one internal form every LoRA layer is normalised to, whatever file it came from. */
import { TensorInfo } from '../safetensors/header';
import { LoraScheme } from './tensor-names';

export interface LoraLayer {
  /** Canonical module name (see naming.ts), e.g. `unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`. */
  readonly module: string;
  /** The key layers of two files are paired by (pairingKey of the canonical name). */
  readonly key: string;
  readonly kind: 'linear' | 'conv';
  /** Kernel height and width; [1, 1] for linear layers. */
  readonly kernel: readonly [number, number];
  /** Input features (channels for a conv). */
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Columns of ΔW and of the down factor A: inFeatures · kh · kw (a conv's kernel is flattened into the input). */
  readonly columns: number;
  readonly rank: number;
  /** The alpha stored in the file (kohya) or given by the adapter config (PEFT); null when there is none. */
  readonly alpha: number | null;
  /** ΔW = scale · B · A. */
  readonly scale: number;
  /** Where the scale came from, in words (e.g. "alpha 16 / rank 32", "adapter_config.json: lora_alpha 16 / r 8"). */
  readonly scaleSource: string;
  readonly scheme: LoraScheme;
  /** The layer's tensors under their original names. */
  readonly down: TensorInfo;
  readonly up: TensorInfo;
  readonly alphaTensor?: TensorInfo;
  /** MLX stores A as in × r and B as r × out (transposed relative to PEFT). */
  readonly transposed: boolean;
  /** Set when the layer is the exact fused form of split parts of one file (fuse-split.ts); down/up then name the first part's tensors. */
  readonly parts?: readonly FusedPart[];
  /** Set when the layer pairs with a twin holding its up rows' two halves in the other order: read with them swapped (swapped-halves.ts). */
  readonly halvesSwapped?: boolean;
}

/** A layer's factors as the file stores them: A (r × columns) and B (out × r), or for MLX Aᵀ and Bᵀ. */
export interface StoredFactors {
  readonly down: Float32Array;
  readonly up: Float32Array;
  readonly transposed: boolean;
}

/** One split part of a fused layer and the first row of the fused weight it occupies. */
export interface FusedPart {
  readonly layer: LoraLayer;
  readonly rowOffset: number;
}

/** A layer that could not be normalised, named as in the file. */
export interface LayerProblem {
  readonly module: string;
  readonly problem: string;
}

/** Layers in network order would need the model; sorting by name with numbers compared as numbers is close and stable. */
export function compareModuleNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
