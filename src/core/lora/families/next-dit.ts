/**
 * What Lumina 2 and Z-Image share (both NextDiT): native `layers.N.attention.qkv` fused, `attention.out`,
 * `feed_forward.w1..w3`, plus `noise_refiner` / `context_refiner` blocks, and the evidence that tells the two apart.
 * Lumina 2 has grouped-query attention (q 2304, k and v 768 each: diffusers' Lumina 2 LoRA converter); Z-Image is
 * 3840 wide (30 heads, no grouping).
 */
import { blockCount, blocksEvidence, has, withHidden } from './evidence';
import { BarePathRule, BlockNames, ChartStage, FamilySpec, Recogniser, TransformerLayerInfo } from './types';

const CONTAINERS = ['layers', 'noise_refiner', 'context_refiner'];

/** The same block names in each NextDiT container. */
export const nextDitBlocks = (block: Omit<BlockNames, 'diffusers' | 'native'>): BlockNames[] =>
  CONTAINERS.map((container) => ({ diffusers: container, native: container, ...block }));

const NEXT_DIT_NATIVE_PATHS = /^(cap_embedder|(layers|noise_refiner|context_refiner)\.\d+\.(attention\.(qkv|out)|adaLN_modulation))\b/;
/** NextDiT blocks in diffusers naming (`layers.0.attn.to_q`, `layers.0.attention.to_q`): kohya-style trainers write them under `lora_unet_`. */
const NEXT_DIT_DIFFUSERS_PATHS = /^(layers|noise_refiner|context_refiner)\.\d+\.(attn\.|attention\.(to_|qkv|out)|feed_forward\.(w\d|linear_\d)|adaLN_modulation|norm1\.linear)/;
/** `layers.N.feed_forward.w1` is also Meta LLaMA's naming: only NextDiT's attention names (and cap_embedder) say a bare path is one. */
const NEXT_DIT_BARE_PATHS: readonly BarePathRule[] = [
  { component: 'transformer', pattern: /^(layers|noise_refiner|context_refiner)\.\d+\.(attn\.to_|attention\.(to_|qkv|out))/ },
  { component: 'transformer', pattern: /^cap_embedder\b/ },
];
/** The input refiners before the layers, each kind together (not interleaved by index). */
const NEXT_DIT_STAGES: Readonly<Record<string, ChartStage>> = {
  noise_refiner: { rank: 0.5, short: 'nr' },
  context_refiner: { rank: 0.6, short: 'cr' },
  layers: { rank: 1, short: 'L' },
};
const NEXT_DIT_COMPOUNDS = ['noise_refiner', 'context_refiner', 'feed_forward', 'cap_embedder', 'adaLN_modulation', 'to_out'];

/** The naming facts both NextDiT families share. */
export const NEXT_DIT_SPEC: Pick<FamilySpec, 'compoundIdentifiers' | 'nativePaths' | 'unetPrefixedDiffusersPaths' | 'barePaths' | 'chartStages'> = {
  compoundIdentifiers: NEXT_DIT_COMPOUNDS,
  nativePaths: NEXT_DIT_NATIVE_PATHS,
  unetPrefixedDiffusersPaths: NEXT_DIT_DIFFUSERS_PATHS,
  barePaths: NEXT_DIT_BARE_PATHS,
  chartStages: NEXT_DIT_STAGES,
};

/** The recogniser of one NextDiT family: its label where the evidence says `which`. */
export function nextDitRecogniser(order: number, which: 'zImage' | 'lumina2', label: string): Recogniser {
  return {
    order,
    reads: 'transformer',
    recognise: ({ transformer, hidden }) => {
      const nextDit = nextDitEvidence(transformer, hidden);
      return nextDit?.[which] ? { label, evidence: withHidden(nextDit.evidence, hidden) } : undefined;
    },
  };
}

export interface NextDitEvidence {
  /** Without the hidden size (withHidden adds it last). */
  readonly evidence: string[];
  readonly zImage: boolean;
  readonly lumina2: boolean;
}

const NATIVE_QKV = /^(layers|noise_refiner|context_refiner)\.\d+\.attention\.qkv$/;

/** The NextDiT evidence of a file's transformer layers, or undefined when they are not NextDiT's. */
export function nextDitEvidence(layers: readonly TransformerLayerInfo[], hidden: number | undefined): NextDitEvidence | undefined {
  const qkv = layers.find((l) => NATIVE_QKV.test(l.path));
  const lumina2Diffusers = has(layers, /^(layers|noise_refiner|context_refiner)\.\d+\.(attn\.to_|feed_forward\.linear_)/);
  const zImageDiffusers = has(layers, /^(layers|noise_refiner|context_refiner)\.\d+\.attention\.to_/);
  const native = qkv !== undefined || has(layers, /^(layers|noise_refiner|context_refiner)\.\d+\.attention\.out$/);
  if (!native && !lumina2Diffusers && !zImageDiffusers) return undefined;
  const count = blocksEvidence(blockCount(layers, 'layers'), 'layers');
  const grouped = qkv !== undefined && qkv.outFeatures < 3 * qkv.inFeatures;
  const names = native ? 'fused attention.qkv (native names)' : zImageDiffusers ? 'attention.to_q/to_k/to_v (diffusers names)' : 'attn.to_q/to_k/to_v (diffusers names)';
  const evidence = [`NextDiT layers with ${names}: ${count}`];
  if (grouped) evidence.push(`grouped-query attention (qkv ${qkv!.outFeatures} rows for width ${qkv!.inFeatures})`);
  const zImage = zImageDiffusers || (!lumina2Diffusers && !grouped && hidden === 3840);
  return { evidence, zImage, lumina2: !zImage && (lumina2Diffusers || grouped || hidden === 2304) };
}
