/**
 * The layers of 2 to 8 LoRAs grouped for the merge: one group per weight of the base model, holding each input's
 * layer for that weight. The grouping is the two-way pairing (pairing.ts: names across schemes, fused ↔ split,
 * swapped-halves twins) run input by input against the groups found so far, each group represented by its first
 * layer (its anchor). So input 2 pairs against input 1's layers, input 3 against those plus the layers only input 2
 * had, and so on; with two inputs the groups are exactly the pairing's pairs and the layers only one file has.
 *
 * A group's members are read in the anchor's row order and layout: when a later input has a fused module whose
 * parts are separate groups so far (input 1 has to_q, to_k, to_v; input 3 has qkv), those groups are fused into one,
 * every member input's parts built into one exact layer the same way (fuse-split.ts).
 */
import { fusedFromParts } from '../lora/fuse-split';
import { LoraLayer } from '../lora/layer';
import { pairLayers, PairingInput } from '../lora/pairing';

export interface GroupMember {
  /** 0-based index of the input (in the request's order). */
  readonly input: number;
  /** The input's layer as read in the group's row order (a layer built from split parts, a swapped-halves twin). */
  readonly layer: LoraLayer;
  /** Where the layer (its first part) is in its file's layer list: copies are written in file order. */
  readonly position: number;
}

export interface LayerGroup {
  /** The canonical module written: the anchor's, the first input's layer where it has one. */
  readonly module: string;
  /** In input order; at least one. */
  readonly members: readonly GroupMember[];
  /**
   * When the group first had two members: [input, index in that input's pairing]. Merged layers are written in
   * this order, which for two inputs is the pairing's order (so two-way outputs are what they were).
   */
  readonly pairedAt?: readonly [number, number];
}

/** An input's layer whose shape differs from its group's: the whole group is left out (as a refused pair is). */
export interface RefusedGroup {
  readonly module: string;
  readonly members: readonly GroupMember[];
  readonly reason: string;
}

export interface Grouping {
  /** Every group that is not refused, the anchors' order. */
  readonly groups: readonly LayerGroup[];
  readonly refused: readonly RefusedGroup[];
}

/** Thrown when an input cannot be grouped with the others at all (another base model, no layer in common). */
export class GroupingError extends Error {
  override name = 'GroupingError';
}

interface MutableGroup {
  module: string;
  anchor: LoraLayer;
  members: GroupMember[];
  pairedAt?: [number, number];
  refused?: string;
}

/** The index of a layer (or of its first part) in its file's layers. */
function positionIn(layers: readonly LoraLayer[], layer: LoraLayer): number {
  const first = layer.parts ? layer.parts[0].layer : layer;
  const index = layers.findIndex((l) => l.module === first.module);
  return index < 0 ? layers.length : index;
}

/**
 * One group from the groups of a fused module's parts (`composite` is the anchor's parts built into the fused
 * layer): each input present in any part group gets its parts fused at the same rows.
 */
function fuseGroups(composite: LoraLayer, partGroups: readonly MutableGroup[]): MutableGroup {
  const inputs = [...new Set(partGroups.flatMap((g) => g.members.map((m) => m.input)))].sort((a, b) => a - b);
  const members = inputs.map((input) => {
    const placed = composite.parts!.flatMap((part, i) => {
      const member = partGroups[i].members.find((m) => m.input === input);
      return member ? [{ layer: member.layer, rowOffset: part.rowOffset }] : [];
    });
    const positions = partGroups.flatMap((g) => g.members.filter((m) => m.input === input).map((m) => m.position));
    return { input, layer: fusedFromParts(composite, placed), position: Math.min(...positions) };
  });
  const paired = partGroups.map((g) => g.pairedAt).filter((p): p is [number, number] => p !== undefined);
  const refused = partGroups.find((g) => g.refused)?.refused;
  return {
    module: composite.module,
    anchor: composite,
    members,
    ...(paired.length ? { pairedAt: paired.sort((a, b) => a[0] - b[0] || a[1] - b[1])[0] } : {}),
    ...(refused ? { refused } : {}),
  };
}

/**
 * Groups the inputs' layers. `inputs[i].name` names the file in errors. Throws GroupingError when an input is for
 * another base model than the ones before it, or has no layer in common with them.
 */
export function groupLayers(inputs: readonly PairingInput[]): Grouping {
  let groups: MutableGroup[] = inputs[0].layers.map((layer, position) => ({ module: layer.module, anchor: layer, members: [{ input: 0, layer, position }] }));
  for (let k = 1; k < inputs.length; k++) {
    const input = inputs[k];
    const earlier = k === 1 ? inputs[0].name : `${inputs.slice(0, k).map((i) => i.name).join(', ')}`;
    const pairing = pairLayers({ name: earlier, layers: groups.map((g) => g.anchor), baseModel: inputs[0].baseModel }, input);
    if (pairing.incompatibility) throw new GroupingError(`cannot merge ${earlier} and ${input.name}: ${pairing.incompatibility}`);
    if (pairing.paired.length === 0) throw new GroupingError(`cannot merge ${earlier} and ${input.name}: they have no layer in common`);
    const byAnchor = new Map(groups.map((g) => [g.anchor, g]));
    const groupOf = (anchor: LoraLayer): MutableGroup => {
      const found = byAnchor.get(anchor);
      if (found) return found;
      // The earlier inputs' split parts, fused to pair with this input's fused module, where the first part was.
      const partAnchors = new Set(anchor.parts!.map((part) => part.layer));
      const fused = fuseGroups(anchor, anchor.parts!.map((part) => byAnchor.get(part.layer)!));
      const first = groups.findIndex((g) => partAnchors.has(g.anchor));
      groups = [...groups.slice(0, first), fused, ...groups.slice(first).filter((g) => !partAnchors.has(g.anchor))];
      for (const part of partAnchors) byAnchor.delete(part);
      byAnchor.set(anchor, fused);
      return fused;
    };
    pairing.paired.forEach((pair, index) => {
      const group = groupOf(pair.first);
      group.members.push({ input: k, layer: pair.second, position: positionIn(input.layers, pair.second) });
      group.pairedAt ??= [k, index];
    });
    for (const pair of pairing.refused) {
      const group = groupOf(pair.first);
      group.members.push({ input: k, layer: pair.second, position: positionIn(input.layers, pair.second) });
      group.refused ??= pair.reason;
    }
    for (const layer of pairing.onlyInSecond) groups.push({ module: layer.module, anchor: layer, members: [{ input: k, layer, position: positionIn(input.layers, layer) }] });
  }
  const done = (g: MutableGroup) => ({ module: g.module, members: g.members, ...(g.pairedAt ? { pairedAt: g.pairedAt } : {}) });
  return {
    groups: groups.filter((g) => !g.refused).map(done),
    refused: groups.filter((g) => g.refused).map((g) => ({ module: g.module, members: g.members, reason: g.refused! })),
  };
}
