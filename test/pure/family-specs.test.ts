/**
 * The family registry is coherent: ids are distinct, and no two rules share an order, so the first answer never
 * depends on where a spec sits in the registry (a new family's spec places its rules by number).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAMILY_SPECS, FamilySpec } from '../../src/core/lora/families';

/** `family: order` of each rule whose order another rule also has. */
export function sharedOrders(specs: readonly FamilySpec[], rulesOf: (spec: FamilySpec) => readonly { order: number }[]): string[] {
  const rules = specs.flatMap((spec) => rulesOf(spec).map((rule) => ({ id: spec.id, order: rule.order })));
  return rules.filter((r) => rules.filter((o) => o.order === r.order).length > 1).map((r) => `${r.id}: ${r.order}`);
}

test('every family has its own id, and no two recognisers or metadata rules share an order', () => {
  const ids = FAMILY_SPECS.map((spec) => spec.id);
  assert.deepEqual(ids, [...new Set(ids)]);
  assert.deepEqual(sharedOrders(FAMILY_SPECS, (spec) => spec.recognisers ?? []), []);
  assert.deepEqual(sharedOrders(FAMILY_SPECS, (spec) => spec.metadata ?? []), []);
  // The check itself finds a clash.
  const clash: FamilySpec = { id: 'clash', label: 'Clash', metadata: [{ order: FAMILY_SPECS[0].metadata![0].order, key: 'k', pattern: /x/ }] };
  assert.deepEqual(sharedOrders([FAMILY_SPECS[0], clash], (spec) => spec.metadata ?? []), [`${FAMILY_SPECS[0].id}: ${clash.metadata![0].order}`, `clash: ${clash.metadata![0].order}`]);
});

test('every fused module of a naming table has at least two parts, and no part is also a rename', () => {
  const problems = FAMILY_SPECS.flatMap((spec) =>
    (spec.names?.blocks ?? []).flatMap((block) =>
      Object.entries(block.fused ?? {}).flatMap(([fused, parts]) => [
        ...(parts.length < 2 ? [`${spec.id} ${block.native}.${fused}: ${parts.length} part`] : []),
        ...parts.filter((part) => Object.hasOwn(block.renames, part)).map((part) => `${spec.id} ${block.diffusers}.${part}: a part and a rename`),
      ]),
    ),
  );
  assert.deepEqual(problems, []);
});
