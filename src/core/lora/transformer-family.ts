/**
 * Which diffusion transformer a LoRA's transformer layers belong to, with the evidence in words: the block
 * names (native or diffusers), how many blocks the file has, and the hidden size (the most common input width of
 * its transformer layers). Widths and block counts from the models' configs, named in each rule.
 */
import { BaseModelFamily } from './families';

export interface TransformerLayerInfo {
  /** Path inside the transformer (canonical name without `transformer.`). */
  readonly path: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface FamilyGuess {
  readonly family: BaseModelFamily;
  readonly label: string;
  readonly evidence: string[];
}

function mostCommon(values: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Highest block index + 1 of a container (`transformer_blocks`), or 0 when the file has none. */
function blockCount(layers: readonly TransformerLayerInfo[], container: string): number {
  let max = -1;
  for (const { path } of layers) {
    const m = new RegExp(`^${container}\\.(\\d+)\\.`).exec(path);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

const has = (layers: readonly TransformerLayerInfo[], pattern: RegExp) => layers.some((l) => pattern.test(l.path));

function blocksEvidence(count: number, container: string): string {
  return `${container}.0–${count - 1} (${count} block${count === 1 ? '' : 's'})`;
}

/** SD3 / SD3.5: hidden = 64 · depth (ComfyUI mmdit_to_diffusers); SD3.5 Medium (MMDiT-X) adds a second image attention. */
function sd3Label(hidden: number | undefined, dualAttention: boolean): string {
  if (hidden === 2432) return 'SD3.5 Large';
  if (hidden === 1536) return dualAttention ? 'SD3.5 Medium' : 'SD3 Medium or SD3.5 Medium';
  return 'SD3 / SD3.5';
}

/** Wan: 1.3B is 12 heads × 128 = 1536 wide (30 blocks), 14B 40 × 128 = 5120 (40 blocks) (diffusers' convert_wan_to_diffusers configs). */
function wanLabel(hidden: number | undefined, imageToVideo: boolean): string {
  const size = hidden === 1536 ? ' 1.3B' : hidden === 5120 ? ' 14B' : '';
  return `Wan 2.1 / 2.2${size}${imageToVideo ? ' image-to-video' : ''}`;
}

type Rule = (layers: readonly TransformerLayerInfo[], hidden: number | undefined) => FamilyGuess | undefined;

const withHidden = (evidence: string[], hidden: number | undefined) => (hidden ? [...evidence, `hidden size ${hidden}`] : evidence);

/** Ordered: the first rule that answers decides. */
const RULES: readonly Rule[] = [
  (layers, hidden) => {
    const joint = blockCount(layers, 'joint_blocks');
    if (!joint) return undefined;
    const dual = has(layers, /^joint_blocks\.\d+\.x_block\.attn2\./);
    const evidence = [`MMDiT joint blocks (x_block / context_block): ${blocksEvidence(joint, 'joint_blocks')}`];
    if (dual) evidence.push('a second image attention (x_block.attn2)');
    return { family: 'sd3', label: sd3Label(hidden, dual), evidence: withHidden(evidence, hidden) };
  },
  (layers, hidden) => {
    const native = has(layers, /^blocks\.\d+\.(self_attn|cross_attn|ffn\.\d)/);
    const diffusers = has(layers, /^blocks\.\d+\.(attn1|attn2|ffn\.net)\./);
    if (!native && !diffusers) return undefined;
    const i2v = has(layers, /^blocks\.\d+\.(cross_attn\.[kv]_img|attn2\.add_[kv]_proj)$/);
    const names = native ? 'self_attn / cross_attn / ffn (native names)' : 'attn1 / attn2 / ffn.net (diffusers names)';
    return { family: 'wan', label: wanLabel(hidden, i2v), evidence: withHidden([`Wan blocks with ${names}: ${blocksEvidence(blockCount(layers, 'blocks'), 'blocks')}`], hidden) };
  },
  (layers, hidden) => {
    const qkv = layers.find((l) => /^(layers|noise_refiner|context_refiner)\.\d+\.attention\.qkv$/.test(l.path));
    const lumina2Diffusers = has(layers, /^(layers|noise_refiner|context_refiner)\.\d+\.(attn\.to_|feed_forward\.linear_)/);
    const zImageDiffusers = has(layers, /^(layers|noise_refiner|context_refiner)\.\d+\.attention\.to_/);
    const native = qkv !== undefined || has(layers, /^(layers|noise_refiner|context_refiner)\.\d+\.attention\.out$/);
    if (!native && !lumina2Diffusers && !zImageDiffusers) return undefined;
    const count = blocksEvidence(blockCount(layers, 'layers'), 'layers');
    // Lumina 2 has grouped-query attention (q 2304, k and v 768 each: diffusers' Lumina 2 LoRA converter); Z-Image is 3840 wide (30 heads, no grouping).
    const grouped = qkv !== undefined && qkv.outFeatures < 3 * qkv.inFeatures;
    const zImage = zImageDiffusers || (!lumina2Diffusers && !grouped && hidden === 3840);
    const names = native ? 'fused attention.qkv (native names)' : zImageDiffusers ? 'attention.to_q/to_k/to_v (diffusers names)' : 'attn.to_q/to_k/to_v (diffusers names)';
    const evidence = [`NextDiT layers with ${names}: ${count}`];
    if (grouped) evidence.push(`grouped-query attention (qkv ${qkv!.outFeatures} rows for width ${qkv!.inFeatures})`);
    if (zImage) return { family: 'z-image', label: 'Z-Image', evidence: withHidden(evidence, hidden) };
    if (lumina2Diffusers || grouped || hidden === 2304) return { family: 'lumina2', label: 'Lumina 2', evidence: withHidden(evidence, hidden) };
    // Unknown family: a pairing then reads these names as the other file's family (Lumina 2 and Z-Image name qkv's parts differently).
    return { family: 'unknown', label: 'Lumina 2 or Z-Image', evidence: withHidden([...evidence, 'width not one of Lumina 2 (2304) or Z-Image (3840)'], hidden) };
  },
  (layers, hidden) => {
    // Flux.1: 19 double + 38 single blocks; HunyuanVideo: 20 double + 40 single (diffusers' configs), both 3072 wide.
    const double = Math.max(blockCount(layers, 'double_blocks'), blockCount(layers, 'transformer_blocks'));
    const single = Math.max(blockCount(layers, 'single_blocks'), blockCount(layers, 'single_transformer_blocks'));
    const hunyuanNames = has(layers, /^(double_blocks\.\d+\.(img|txt)_(attn_qkv|attn_proj|mlp\.fc\d|mod\.linear)|single_blocks\.\d+\.modulation\.linear)$/);
    const streams = has(layers, /^(double_blocks|single_blocks|single_transformer_blocks)\./);
    if (!streams) return undefined;
    const counts = [double && blocksEvidence(double, has(layers, /^double_blocks\./) ? 'double_blocks' : 'transformer_blocks'), single && blocksEvidence(single, has(layers, /^single_blocks\./) ? 'single_blocks' : 'single_transformer_blocks')].filter(Boolean) as string[];
    if (hunyuanNames || double > 19 || single > 38) {
      const why = hunyuanNames ? 'HunyuanVideo module names (img_attn_qkv, img_mlp.fc1, img_mod.linear…)' : 'more blocks than Flux has (19 double, 38 single)';
      return { family: 'hunyuan-video', label: 'HunyuanVideo', evidence: withHidden([`double/single-stream blocks: ${counts.join(', ')}`, why], hidden) };
    }
    return { family: 'flux', label: 'Flux', evidence: withHidden([`Flux single/double-stream transformer blocks: ${counts.join(', ')}`], hidden) };
  },
  (layers, hidden) => {
    if (!has(layers, /^transformer_blocks\.\d+\.(img_mlp|txt_mlp|img_mod|txt_mod)\./)) return undefined;
    const count = blockCount(layers, 'transformer_blocks');
    return { family: 'qwen-image', label: 'Qwen-Image', evidence: withHidden([`joint blocks with img_mlp / txt_mlp (Qwen-Image): ${blocksEvidence(count, 'transformer_blocks')}`], hidden) };
  },
  (layers, hidden) => {
    // attn1 (not SD3's attn / attn2): the UNet-style self-attention name LTX keeps.
    if (!has(layers, /^transformer_blocks\.\d+\.attn1\./)) return undefined;
    const count = blockCount(layers, 'transformer_blocks');
    // LTX-Video 13B: 32 heads × 128 = 4096 wide, 48 blocks (its diffusers config).
    const label = hidden === 4096 ? 'LTX-Video 13B' : 'LTX-Video';
    return { family: 'ltx-video', label, evidence: withHidden([`transformer blocks with self- and cross-attention (attn1 / attn2): ${blocksEvidence(count, 'transformer_blocks')}`], hidden) };
  },
  (layers, hidden) => {
    // Joint (MMDiT-style) blocks in diffusers naming without single-stream blocks: SD3 or a Flux LoRA of the double blocks only.
    if (!has(layers, /^transformer_blocks\.\d+\.attn\./)) return undefined;
    const count = blockCount(layers, 'transformer_blocks');
    const blocks = `joint transformer blocks (attn.to_q …, no single-stream blocks): ${blocksEvidence(count, 'transformer_blocks')}`;
    if (hidden === 3072) {
      // At width 3072 the block count tells: Flux has 19 double-stream blocks, HunyuanVideo 20, Qwen-Image 60.
      if (count > 20) return { family: 'qwen-image', label: 'Qwen-Image', evidence: withHidden([blocks, 'more than 20 blocks at width 3072 (Qwen-Image has 60)'], hidden) };
      if (count === 20) return { family: 'hunyuan-video', label: 'HunyuanVideo (double-stream blocks only)', evidence: withHidden([blocks, '20 blocks at width 3072 (HunyuanVideo; Flux has 19)'], hidden) };
      return { family: 'flux', label: 'Flux (double-stream blocks only)', evidence: withHidden([blocks, 'width 3072 (Flux; SD3 is 1536 or 2432 wide)'], hidden) };
    }
    if (hidden === 1536 || hidden === 2432 || has(layers, /^transformer_blocks\.\d+\.attn2\./)) {
      const dual = has(layers, /^transformer_blocks\.\d+\.attn2\./);
      return { family: 'sd3', label: sd3Label(hidden, dual), evidence: withHidden([blocks, ...(dual ? ['a second image attention (attn2)'] : [])], hidden) };
    }
    return undefined;
  },
];

/** The family of a file's transformer layers, or undefined when it has none or they fit no known family. */
export function guessTransformerFamily(layers: readonly TransformerLayerInfo[]): FamilyGuess | undefined {
  if (!layers.length) return undefined;
  const hidden = mostCommon(layers.map((l) => l.inFeatures));
  for (const rule of RULES) {
    const guess = rule(layers, hidden);
    if (guess) return guess;
  }
  return undefined;
}
