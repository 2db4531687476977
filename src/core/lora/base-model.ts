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
  /** Other families the layers fit as well: paired with a file of one of them, this file is read in it. */
  readonly alsoFits?: readonly BaseModelFamily[];
  /** The release within the family, where the metadata, the file name or the shapes tell it (`2.2`). */
  readonly release?: string;
  /** The expert of a model made of several same-shaped ones (`high-noise`), where the metadata or file name tell it. */
  readonly expert?: string;
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

/** The guess with the release and expert its family's variant rule reads from the metadata and the file name. */
function withVariant(guess: BaseModelGuess, metadata: Readonly<Record<string, string>>, fileName: string | undefined, hidden: number | undefined): BaseModelGuess {
  const variant = specOf(guess.family)?.variant?.({ metadata, fileName, hidden }, guess.label);
  if (!variant) return guess;
  const { release, expert } = variant;
  return { ...guess, label: variant.label, evidence: [...guess.evidence, ...variant.evidence], ...(release ? { release } : {}), ...(expert ? { expert } : {}) };
}

/** The base model of a file's layers; `fileName` (the base name) is read for the variant where trainers put it there. */
export function guessBaseModel(layers: readonly LoraLayer[], metadata: Readonly<Record<string, string>>, configBaseModel?: string, fileName?: string): BaseModelGuess {
  const evidence = fileEvidence(layers, configBaseModel);
  for (const { key, pattern, family } of METADATA_RULES) {
    const value = metadata[key];
    if (value !== undefined && pattern.test(value)) return withVariant({ family, label: labelOf(family), evidence: [`metadata ${key} = "${value}"`] }, metadata, fileName, evidence.hidden);
  }
  const guess = firstVerdict(evidence, (reads) => reads === 'file' || evidence.transformer.length > 0);
  if (!guess) return { family: 'unknown', label: labelOf('unknown'), evidence: ['no known module layout or metadata'] };
  const encoders = guess.reads === 'transformer' ? textEncoderEvidence(layers, guess.family) : [];
  const alsoFits = guess.alsoFits ? { alsoFits: guess.alsoFits } : {};
  return withVariant({ family: guess.family, label: guess.label, evidence: [...guess.evidence, ...encoders], ...alsoFits }, metadata, fileName, evidence.hidden);
}
