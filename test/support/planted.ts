/**
 * A planted content/style pair with SD1.5 UNet attention names and shapes: per layer the two LoRAs read
 * overlapping input columns (content reads the first 60 %, style the last 60 %, so 20 % are shared) through
 * unrelated random outputs, and the columns they read matter unequally (geometrically decaying importance in
 * a random order). The ground truth — which columns overlap, how much energy each carries — is known.
 */
import path from 'node:path';
import { FactoredDelta, upTransposedOf } from '../../src/core/merge/types';
import { LayerSpec, LayerValues, randomNormal, seededRandom, writeLora } from './lora-generators';

const BLOCKS: [string, number][] = [
  ['down_blocks.0.attentions.0', 320], ['down_blocks.0.attentions.1', 320],
  ['down_blocks.1.attentions.0', 640], ['down_blocks.1.attentions.1', 640],
  ['down_blocks.2.attentions.0', 1280], ['down_blocks.2.attentions.1', 1280],
  ['mid_block.attentions.0', 1280],
  ['up_blocks.1.attentions.0', 1280], ['up_blocks.1.attentions.1', 1280], ['up_blocks.1.attentions.2', 1280],
  ['up_blocks.2.attentions.0', 640], ['up_blocks.2.attentions.1', 640], ['up_blocks.2.attentions.2', 640],
  ['up_blocks.3.attentions.0', 320], ['up_blocks.3.attentions.1', 320], ['up_blocks.3.attentions.2', 320],
];
const CROSS_ATTENTION_WIDTH = 768;

/** The 128 attention projections of SD1.5 (q, k, v, out of attn1 and attn2 in 16 transformer blocks). */
export function sd15AttentionLayers(rank: number): LayerSpec[] {
  const layers: LayerSpec[] = [];
  for (const [block, dim] of BLOCKS) {
    for (const attention of ['attn1', 'attn2']) {
      for (const projection of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
        const inFeatures = attention === 'attn2' && (projection === 'to_k' || projection === 'to_v') ? CROSS_ATTENTION_WIDTH : dim;
        layers.push({ canonical: `unet.${block}.transformer_blocks.0.${attention}.${projection}`, downShape: [rank, inFeatures], upShape: [dim, rank] });
      }
    }
  }
  return layers;
}

export interface PlantedLayer {
  readonly content: LayerValues;
  readonly style: LayerValues;
  /** Column j is read by both LoRAs. */
  readonly overlap: boolean[];
}

/** Values of one planted layer; alpha = rank so the scale is 1. */
export function plantedLayer(layer: LayerSpec, seed: number): PlantedLayer {
  const random = seededRandom(seed);
  const [rank, n] = [layer.downShape[0], layer.downShape[1]];
  const out = layer.upShape[0];
  const contentEnd = Math.round(0.6 * n);
  const styleStart = Math.round(0.4 * n);
  const importance = (count: number) => {
    const weights = Array.from({ length: count }, (_, k) => Math.exp(-(3 * k) / count));
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [weights[i], weights[j]] = [weights[j], weights[i]];
    }
    return weights;
  };
  const make = (start: number, end: number): LayerValues => {
    const weights = importance(end - start);
    const down = randomNormal(rank * n, random, 1 / Math.sqrt(rank));
    for (let a = 0; a < rank; a++) for (let j = 0; j < n; j++) down[a * n + j] *= j >= start && j < end ? weights[j - start] : 0;
    return { down, up: randomNormal(out * rank, random, 1 / Math.sqrt(out)), alpha: rank };
  };
  const content = make(0, contentEnd);
  const style = make(styleStart, n);
  return { content, style, overlap: Array.from({ length: n }, (_, j) => j >= styleStart && j < contentEnd) };
}

/** Writes the planted pair as two kohya LoRAs; returns their paths and the layers' ground truth. */
export async function writePlantedPair(dir: string, rank = 8, seed = 7): Promise<{ content: string; style: string; layers: LayerSpec[]; planted: PlantedLayer[] }> {
  const layers = sd15AttentionLayers(rank);
  const planted = layers.map((l, i) => plantedLayer(l, seed * 1000 + i));
  const content = path.join(dir, 'planted-content.safetensors');
  const style = path.join(dir, 'planted-style.safetensors');
  await writeLora(content, layers, (_, i) => planted[i].content, { scheme: 'kohya', family: 'sd1', dtype: 'F32', metadata: { ss_base_model_version: 'sd_v1' } });
  await writeLora(style, layers, (_, i) => planted[i].style, { scheme: 'kohya', family: 'sd1', dtype: 'F32', metadata: { ss_base_model_version: 'sd_v1' } });
  return { content, style, layers, planted };
}

export function asDelta(values: LayerValues, layer: LayerSpec): FactoredDelta {
  const [rank, n] = [layer.downShape[0], layer.downShape[1]];
  const out = layer.upShape[0];
  const upTransposed = new Float32Array(rank * out);
  for (let i = 0; i < out; i++) for (let a = 0; a < rank; a++) upTransposed[a * out + i] = values.up[i * rank + a];
  return { down: values.down, upTransposed, rank, inFeatures: n, outFeatures: out, scale: values.alpha / rank };
}

/**
 * The columns outside the overlap that together carry 90 % of a LoRA's energy outside the overlap (largest
 * first). Column energy ‖ΔW[:, j]‖² is computed densely from the factors.
 */
export function strongColumns(delta: FactoredDelta, overlap: boolean[]): number[] {
  const { rank, inFeatures: n, outFeatures: out } = delta;
  const energy = new Float64Array(n);
  const upT = upTransposedOf(delta);
  for (let i = 0; i < out; i++)
    for (let j = 0; j < n; j++) {
      let v = 0;
      for (let a = 0; a < rank; a++) v += upT[a * out + i] * delta.down[a * n + j];
      energy[j] += (v * delta.scale) ** 2;
    }
  const outside = [...energy.keys()].filter((j) => !overlap[j] && energy[j] > 0).sort((a, b) => energy[b] - energy[a]);
  const total = outside.reduce((s, j) => s + energy[j], 0);
  const chosen: number[] = [];
  let sum = 0;
  for (const j of outside) {
    if (sum >= 0.9 * total) break;
    chosen.push(j);
    sum += energy[j];
  }
  return chosen;
}
