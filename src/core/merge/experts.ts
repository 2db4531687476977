/**
 * Experts of a model made of several same-shaped ones (Wan 2.2 A14B's high-noise and low-noise): a LoRA trained
 * for one expert merged with one for the other is a mistake that the shapes cannot catch, so the merge refuses it
 * unless asked (`allowMixedExperts`); and inputs given as pairs of files are sorted by expert, one merge each.
 */
import { BaseModelGuess } from '../lora/base-model';

export interface NamedGuess {
  readonly name: string;
  readonly baseModel: BaseModelGuess;
}

/** Why these inputs must not be merged together (their experts differ), or undefined. */
export function mixedExpertsProblem(inputs: readonly NamedGuess[]): string | undefined {
  const known = inputs.filter((input) => input.baseModel.expert !== undefined);
  const first = known[0];
  const other = known.find((input) => input.baseModel.expert !== first?.baseModel.expert);
  if (!first || !other) return undefined;
  const said = (input: NamedGuess) => `${input.name} is for the ${input.baseModel.expert} expert (${input.baseModel.evidence.filter((e) => e.includes(input.baseModel.expert!)).join('; ')})`;
  return `cannot merge ${first.name} and ${other.name}: ${said(first)}, ${said(other)}; merge each expert's LoRAs apart (ziplora merge --experts), or pass --allow-mixed-experts if this is meant`;
}

/** The inputs' indices by expert, in the order each expert is first met; a problem in words where they do not split into experts. */
export function inputsByExpert(inputs: readonly NamedGuess[]): { readonly groups: ReadonlyMap<string, readonly number[]> } | { readonly problem: string } {
  const unknown = inputs.filter((input) => input.baseModel.expert === undefined);
  if (unknown.length) {
    return { problem: `--experts sorts the inputs by expert, and ${unknown.map((input) => input.name).join(', ')} name${unknown.length === 1 ? 's' : ''} none (neither in the metadata nor in the file name): rename it with high_noise or low_noise in the name, or merge without --experts` };
  }
  const groups = new Map<string, number[]>();
  inputs.forEach((input, i) => groups.set(input.baseModel.expert!, [...(groups.get(input.baseModel.expert!) ?? []), i]));
  const alone = [...groups].filter(([, members]) => members.length < 2);
  if (groups.size < 2 || alone.length) {
    const counts = [...groups].map(([expert, members]) => `${members.length} for the ${expert} expert`).join(', ');
    return { problem: `--experts needs at least two LoRAs for each expert, one merge per expert (got ${counts})` };
  }
  return { groups };
}

/** `OUT.safetensors` → `OUT-high_noise.safetensors`: the output of one expert's merge. */
export function expertOutputPath(output: string, expert: string): string {
  const suffix = `-${expert.replace(/-/g, '_')}`;
  return /\.safetensors$/i.test(output) ? output.replace(/(\.safetensors)$/i, `${suffix}$1`) : `${output}${suffix}`;
}
