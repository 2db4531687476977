/**
 * What the merge does with each group of layers (merge-groups.ts) once the inputs' strengths and the block rules
 * (block-rules.ts) are applied: an input's effective weight in a layer is its strength × its block weight there, and
 * a weight 0 leaves the input out of that layer. A group left with two or more inputs is merged (`zip` or `direct`
 * as its block says), with one it is copied scaled by its weight, with none, or in a `skip` block, it is not written.
 */
import { blockOf } from '../lora/network-blocks';
import { blockSettingsFor, formatBlockRule, nearestBlockNames, unmatchedRules } from './block-rules';
import { GroupMember, Grouping, RefusedGroup } from './merge-groups';
import { MergeRequest } from './request';

export interface MergedGroup {
  readonly module: string;
  /** The inputs present with a weight above 0, in input order (two or more). */
  readonly members: readonly GroupMember[];
  /** Effective weight per member (strength × block weight): folded into each ΔW's scale before the merge. */
  readonly weights: readonly number[];
  /** `zip`: ZipLoRA coefficients are solved; `direct`: m = 1, the sum of the weighted deltas. */
  readonly method: 'zip' | 'direct';
}

export interface CopiedGroup {
  readonly module: string;
  readonly member: GroupMember;
  readonly weight: number;
}

export interface SkippedGroup {
  readonly module: string;
  readonly members: readonly GroupMember[];
  readonly reason: string;
}

export interface WeightedGroups {
  /** In the order they are written: the order the groups were first paired in (two inputs: the pairing's). */
  readonly merged: readonly MergedGroup[];
  /** By input, then in their file's order. */
  readonly copied: readonly CopiedGroup[];
  readonly skipped: readonly SkippedGroup[];
  readonly refused: readonly RefusedGroup[];
}

/** A block rule that names no block of any input: refused, with the nearest names the inputs have. */
export class BlockRuleError extends Error {
  override name = 'BlockRuleError';
}

function checkRulesMatch(grouping: Grouping, request: Pick<MergeRequest, 'blocks'>): void {
  const known = new Set([...grouping.groups, ...grouping.refused].flatMap((g) => namesOf(g).map((m) => blockOf(m).name)));
  const unmatched = unmatchedRules(request.blocks, known);
  if (unmatched.length === 0) return;
  const lines = unmatched.map((index) => {
    const rule = request.blocks[index];
    return `block rule ${formatBlockRule(rule)} matches no block of the inputs (nearest: ${nearestBlockNames(rule.block, known).join(', ')})`;
  });
  throw new BlockRuleError(`${lines.join('; ')}: use the block names the editor's charts show`);
}

/** A group's module names: the one written and each input's own (block rules may use any input's naming). */
const namesOf = (group: { readonly module: string; readonly members: readonly GroupMember[] }) => [group.module, ...group.members.map((m) => m.layer.module)];

const inputsInWords = (members: readonly GroupMember[]) => members.map((m) => `input ${m.input + 1}`).join(', ');

export function weighGroups(grouping: Grouping, request: Pick<MergeRequest, 'inputs' | 'blocks' | 'method'>): WeightedGroups {
  checkRulesMatch(grouping, request);
  const count = request.inputs.length;
  const defaultMethod = request.method === 'ziplora' ? 'zip' : 'direct';
  const merged: (MergedGroup & { order: readonly [number, number] })[] = [];
  const copied: CopiedGroup[] = [];
  const skipped: SkippedGroup[] = [];
  for (const group of grouping.groups) {
    const block = blockSettingsFor(namesOf(group), request.blocks, count, defaultMethod);
    if (block.method === 'skip') {
      skipped.push({ module: group.module, members: group.members, reason: `block ${blockOf(group.module).name} is skipped by a block rule` });
      continue;
    }
    const weighted = group.members.map((member) => ({ member, weight: request.inputs[member.input].weight * block.weights[member.input] }));
    const present = weighted.filter((w) => w.weight > 0);
    if (present.length === 0) {
      skipped.push({ module: group.module, members: group.members, reason: `the weight of ${inputsInWords(group.members)} is 0 in block ${blockOf(group.module).name}` });
    } else if (present.length === 1) {
      copied.push({ module: group.module, member: present[0].member, weight: present[0].weight });
    } else {
      const method = block.method;
      merged.push({ module: group.module, members: present.map((p) => p.member), weights: present.map((p) => p.weight), method, order: group.pairedAt ?? [count, 0] });
    }
  }
  merged.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1]);
  copied.sort((a, b) => a.member.input - b.member.input || a.member.position - b.member.position);
  return { merged: merged.map(({ order: _order, ...group }) => group), copied, skipped, refused: grouping.refused };
}
