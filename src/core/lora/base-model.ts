/**
 * A guess at the model a LoRA was trained for, with the evidence for it. Trainer metadata wins when present
 * (the specs' metadata rules); otherwise every family's recognisers look at the module names and widths
 * (transformer-family.ts), and a transformer family's guess names the text encoders the file also trains.
 */
import { BaseModelFamily, FAMILY_SPECS, FileEvidence, specOf } from './families';
import { LoraLayer } from './layer';
import { canonicalInFamily, splitComponent } from './naming';
import { firstVerdict, transformerEvidence } from './transformer-family';

export interface BaseModelGuess {
  readonly family: BaseModelFamily;
  /** For people: the family's label, or a finer one its recogniser gave. */
  readonly label: string;
  readonly evidence: readonly string[];
  /** A family the layers cannot tell apart from this one (the recogniser's alsoFits): a LoRA of it is not refused as another base model. */
  readonly alsoFits?: BaseModelFamily;
}

/** Every family's metadata rules, in the order they are tried. */
const METADATA_RULES = FAMILY_SPECS.flatMap((spec) => (spec.metadata ?? []).map((rule) => ({ family: spec.id as BaseModelFamily, ...rule }))).sort((a, b) => a.order - b.order);

const labelOf = (family: BaseModelFamily) => specOf(family)?.label ?? 'unknown';

/** The text encoders a transformer LoRA also trains, in words (CLIP width 768 = CLIP-L, 1280 = CLIP-G; T5). */
function textEncoderEvidence(layers: readonly LoraLayer[], family: BaseModelFamily): string[] {
  const found = new Map<string, string>();
  for (const layer of layers) {
    const { component, path } = splitComponent(canonicalInFamily(layer.module, family));
    if (!component?.startsWith('text_encoder') || found.has(component)) continue;
    if (/^encoder\.block\./.test(path)) found.set(component, `${component}: T5`);
    else if (/self_attn\.q_proj$/.test(path)) found.set(component, `${component}: CLIP ${layer.inFeatures === 768 ? '-L' : layer.inFeatures === 1280 ? '-G' : ''} (width ${layer.inFeatures})`.replace('CLIP -', 'CLIP-'));
  }
  return [...found.values()].sort().map((e) => `text encoder ${e}`);
}

/** What the recognisers see of a file. */
function fileEvidence(layers: readonly LoraLayer[], configBaseModel: string | undefined): FileEvidence {
  const split = layers.map((l) => ({ layer: l, ...splitComponent(l.module) }));
  const transformer = split.flatMap(({ layer, component, path }) => (component === 'transformer' ? [{ path, inFeatures: layer.inFeatures, outFeatures: layer.outFeatures }] : []));
  const t5 = split.find(({ component, path }) => component?.startsWith('text_encoder') && /^encoder\.block\.\d+\./.test(path));
  return {
    ...transformerEvidence(transformer),
    layers,
    components: new Set(split.map(({ component }) => component ?? 'none')),
    bareModules: split.filter(({ component }) => !component).map(({ layer }) => layer.module),
    t5Component: t5?.component,
    configBaseModel,
  };
}

export function guessBaseModel(layers: readonly LoraLayer[], metadata: Readonly<Record<string, string>>, configBaseModel?: string): BaseModelGuess {
  for (const { key, pattern, family } of METADATA_RULES) {
    const value = metadata[key];
    if (value !== undefined && pattern.test(value)) return { family, label: labelOf(family), evidence: [`metadata ${key} = "${value}"`] };
  }
  const evidence = fileEvidence(layers, configBaseModel);
  const guess = firstVerdict(evidence, (reads) => reads === 'file' || evidence.transformer.length > 0);
  if (!guess) return { family: 'unknown', label: labelOf('unknown'), evidence: ['no known module layout or metadata'] };
  const encoders = guess.reads === 'transformer' ? textEncoderEvidence(layers, guess.family) : [];
  return { family: guess.family, label: guess.label, evidence: [...guess.evidence, ...encoders], ...(guess.alsoFits ? { alsoFits: guess.alsoFits } : {}) };
}
