/**
 * Pairs the layers of two LoRAs by canonical module name, whatever naming scheme each file uses. A pair is
 * refused when the two layers' ΔW shapes differ (they were trained on different base weights); layers in only
 * one file are listed (a merge copies them through unchanged).
 */
import { BaseModelGuess } from './base-model';
import { BaseModelFamily } from './families';
import { pairFusedWithSplit } from './fused-pairing';
import { LoraLayer } from './layer';
import { pairingKey } from './naming';
import { pairSwappedHalves } from './swapped-halves';

export interface LayerPair {
  readonly module: string;
  readonly first: LoraLayer;
  readonly second: LoraLayer;
  /** Which side's layer was built from split parts (q/k/v…) to pair with a fused module on the other side. */
  readonly split?: 'first' | 'second';
  /** Set when the second layer is its file's twin with the row halves swapped, read in the first's row order. */
  readonly halvesSwapped?: true;
}

export interface RefusedPair extends LayerPair {
  readonly reason: string;
}

export interface PairingReport {
  readonly paired: readonly LayerPair[];
  readonly onlyInFirst: readonly LoraLayer[];
  readonly onlyInSecond: readonly LoraLayer[];
  readonly refused: readonly RefusedPair[];
  /**
   * Set when the two files cannot be meaningfully paired at all (different base models, or no layer in common):
   * one sentence for the user instead of a list of hundreds of refusals.
   */
  readonly incompatibility?: string;
}

function shapeOf(layer: LoraLayer): string {
  const kernel = layer.kind === 'conv' ? ` conv ${layer.kernel[0]}×${layer.kernel[1]}` : '';
  return `${layer.outFeatures}×${layer.inFeatures}${kernel}`;
}

function shapeMismatch(a: LoraLayer, b: LoraLayer): string | undefined {
  if (a.outFeatures === b.outFeatures && a.inFeatures === b.inFeatures && a.kernel[0] === b.kernel[0] && a.kernel[1] === b.kernel[1]) return undefined;
  return `ΔW shapes differ: ${shapeOf(a)} vs ${shapeOf(b)} (out×in), so the layers belong to different base models`;
}

export interface PairingInput {
  readonly name: string;
  readonly layers: readonly LoraLayer[];
  readonly baseModel: BaseModelGuess;
}

/**
 * The family a file's names are read in when paired: its own, or the other file's when its layers alone do not tell
 * (unknown) or fit the other's family as well (alsoFits: layers whose names and widths two families share).
 */
export function familyReadIn(own: BaseModelGuess, other: BaseModelGuess): BaseModelFamily {
  return own.family === 'unknown' || own.alsoFits?.includes(other.family) ? other.family : own.family;
}

/** Whether two guesses name different base models: different families neither also fits, or one family's different releases. */
function differentBaseModels(a: BaseModelGuess, b: BaseModelGuess): boolean {
  if (a.family === 'unknown' || b.family === 'unknown') return false;
  if (a.family !== b.family) return !a.alsoFits?.includes(b.family) && !b.alsoFits?.includes(a.family);
  return a.release !== undefined && b.release !== undefined && a.release !== b.release;
}

/**
 * The family a side's names are read in: its own, or, when its layers alone do not tell (a diffusers file with only
 * q/k/v/out layers), the other side's. A side read in another family than its own gets its keys recomputed.
 */
function readAs(side: PairingInput, other: PairingInput): { family: BaseModelFamily; keyOf: (layer: LoraLayer) => string } {
  const own = side.baseModel.family;
  const family = familyReadIn(side.baseModel, other.baseModel);
  return { family, keyOf: family === own ? (l) => l.key : (l) => pairingKey(l.module, family, l) };
}

export function pairLayers(first: PairingInput, second: PairingInput): PairingReport {
  const a = readAs(first, second);
  const b = readAs(second, first);
  const secondByKey = new Map(second.layers.map((l) => [b.keyOf(l), l]));
  const paired: LayerPair[] = [];
  const refused: RefusedPair[] = [];
  const onlyInFirst: LoraLayer[] = [];
  const matched = new Set<string>();
  for (const layer of first.layers) {
    const key = a.keyOf(layer);
    const other = secondByKey.get(key);
    if (!other) {
      onlyInFirst.push(layer);
      continue;
    }
    matched.add(key);
    const reason = shapeMismatch(layer, other);
    if (reason) refused.push({ module: layer.module, first: layer, second: other, reason });
    else paired.push({ module: layer.module, first: layer, second: other });
  }
  const fusedSplit = pairFusedWithSplit(onlyInFirst, second.layers.filter((l) => !matched.has(b.keyOf(l))), [a.family, b.family]);
  const swapped = pairSwappedHalves(fusedSplit.onlyInFirst, fusedSplit.onlyInSecond, [a.family, b.family]);
  paired.push(...fusedSplit.pairs, ...swapped.pairs);
  const onlyInSecond = swapped.onlyInSecond;
  onlyInFirst.splice(0, onlyInFirst.length, ...swapped.onlyInFirst);
  return { paired, onlyInFirst, onlyInSecond, refused, incompatibility: incompatibility(first, second, paired.length, refused.length) };
}

function incompatibility(first: PairingInput, second: PairingInput, paired: number, refused: number): string | undefined {
  const a = first.baseModel;
  const b = second.baseModel;
  const models = `${first.name} is for ${a.label} (${a.evidence.join('; ')}), ${second.name} is for ${b.label} (${b.evidence.join('; ')})`;
  if (differentBaseModels(a, b)) return `the two LoRAs are for different base models: ${models}`;
  if (paired === 0 && refused > 0) {
    return `all ${refused} layers the two LoRAs have in common differ in shape, so they are for different base models: ${models}`;
  }
  if (paired === 0) {
    return `the two LoRAs have no layer in common (${first.layers.length} and ${second.layers.length} layers): ${models}`;
  }
  if (refused > paired) {
    return `${refused} of ${refused + paired} common layers differ in shape, so the LoRAs are most likely for different base models: ${models}`;
  }
  return undefined;
}
