/**
 * Which family a LoRA's layers belong to, with the evidence in words: every family's recognisers (families/),
 * tried in their order, the first answer deciding. `transformer` recognisers read only the diffusion transformer's
 * layers (block names, block counts, the hidden size: the most common input width of its layers).
 */
import { BaseModelFamily, FAMILY_SPECS, FileEvidence, TransformerLayerInfo } from './families';
import { mostCommon } from './families/evidence';

export type { TransformerLayerInfo } from './families';

export interface FamilyGuess {
  readonly family: BaseModelFamily;
  readonly label: string;
  readonly evidence: string[];
  readonly alsoFits?: readonly BaseModelFamily[];
}

/** Every family's recognisers, in the order they are tried. */
const RECOGNISERS = FAMILY_SPECS.flatMap((spec) => (spec.recognisers ?? []).map((recogniser) => ({ family: spec.id as BaseModelFamily, ...recogniser }))).sort((a, b) => a.order - b.order);

/** The first recogniser's answer (of those `which` lets through), or undefined when none answers. */
export function firstVerdict(evidence: FileEvidence, which: (reads: 'transformer' | 'file') => boolean): (FamilyGuess & { reads: 'transformer' | 'file' }) | undefined {
  for (const { family, reads, recognise } of RECOGNISERS) {
    if (!which(reads)) continue;
    const verdict = recognise(evidence);
    if (!verdict) continue;
    const alsoFits = verdict.alsoFits as readonly BaseModelFamily[] | undefined;
    return { family: verdict.unknown ? 'unknown' : family, label: verdict.label, evidence: verdict.evidence, reads, ...(alsoFits ? { alsoFits } : {}) };
  }
  return undefined;
}

/** The evidence of transformer layers alone. */
export function transformerEvidence(layers: readonly TransformerLayerInfo[]): FileEvidence {
  return { layers: [], components: new Set(), bareModules: [], transformer: layers, hidden: mostCommon(layers.map((l) => l.inFeatures)), t5Component: undefined };
}

/** The family of a file's transformer layers, or undefined when it has none or they fit no known family. */
export function guessTransformerFamily(layers: readonly TransformerLayerInfo[]): FamilyGuess | undefined {
  if (!layers.length) return undefined;
  const guess = firstVerdict(transformerEvidence(layers), (reads) => reads === 'transformer');
  return guess && { family: guess.family, label: guess.label, evidence: guess.evidence };
}
