/**
 * What applies to which merge (merge-options.ts OPTION_APPLIES_TO), one test per row: the row agrees with the
 * expectation written out here, a CLI flag the user typed that does not apply is refused with one line saying
 * why, the same flag where it applies is accepted, and its default never is refused. The extension's settings
 * and command arguments use the same rows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMergeArgs } from '../../src/cli/merge';
import { UsageError } from '../../src/cli/usage';
import { inapplicableProblem, MERGE_OPTION_KEYS, MergeKind, MergeOptionKey, OPTION_APPLIES_TO } from '../../src/core/merge/merge-options';
import { DEFAULT_MERGE_OPTIONS, MergeRequest } from '../../src/core/merge/request';
import { inapplicableCommandArgs, inapplicableSettings } from '../../src/extension/merge-arguments';

const KINDS: Record<string, { kind: MergeKind; args: string[] }> = {
  direct: { kind: { method: 'direct', solver: 'newton' }, args: ['--method', 'direct'] },
  newton: { kind: { method: 'ziplora', solver: 'newton' }, args: [] },
  adam: { kind: { method: 'ziplora', solver: 'adam' }, args: ['--solver', 'adam'] },
};
type KindName = keyof typeof KINDS;
const ALL: KindName[] = ['direct', 'newton', 'adam'];

/** The expectation, written independently of the table: where each option means something. */
const APPLIES: Record<MergeOptionKey, KindName[]> = {
  inputs: ALL,
  output: ALL,
  method: ALL,
  solver: ['newton', 'adam'],
  steps: ['adam'],
  lambda: ['newton', 'adam'],
  learningRate: ['adam'],
  columns: ALL,
  backend: ALL,
  rank: ALL,
  rankEnergy: ALL,
  dtype: ALL,
  naming: ALL,
  blocks: ALL,
  overwrite: ALL,
  sparsityThreshold: ALL,
  threads: ALL,
  recipe: ALL,
  allowMixedExperts: ALL,
};

/** A valid CLI value of each option that has a flag (the solver's is the kind's own, so the kind stays as it is). */
const FLAG: Partial<Record<MergeOptionKey, (kind: MergeKind) => string[]>> = {
  method: (k) => ['--method', k.method],
  solver: (k) => ['--solver', k.solver],
  steps: () => ['--steps', '5'],
  lambda: () => ['--lambda', '0.1'],
  learningRate: () => ['--lr', '0.02'],
  columns: () => ['--columns', 'output'],
  backend: () => ['--backend', 'wasm'],
  rank: () => ['--rank', '4'],
  rankEnergy: () => ['--rank-energy', '0.9'],
  dtype: () => ['--dtype', 'F16'],
  naming: () => ['--naming', 'kohya'],
  blocks: () => ['--block', 'unet.mid_block:direct'],
  overwrite: () => ['--force'],
  inputs: () => ['--weights', '0.5,1'],
  threads: () => ['--threads', '1'],
  allowMixedExperts: () => ['--allow-mixed-experts'],
};

const base = ['c.safetensors', 's.safetensors', '-o', 'o.safetensors'];

function cli(args: string[]): { request?: MergeRequest; refused?: string } {
  try {
    return { request: parseMergeArgs([...base, ...args]).request };
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return { refused: error.message };
  }
}

test('the table has a row for every merge option, and only those', () => {
  assert.deepEqual(Object.keys(OPTION_APPLIES_TO).sort(), [...MERGE_OPTION_KEYS].sort());
});

for (const key of MERGE_OPTION_KEYS) {
  test(`row ${key}: applies to ${APPLIES[key].join(', ')}; where it does not, a value the user gave is refused in one line, a default never`, () => {
    for (const name of ALL) {
      const { kind, args } = KINDS[name];
      const applies = APPLIES[key].includes(name);
      assert.equal(OPTION_APPLIES_TO[key].applies(kind), applies, `${key} for ${name}`);
      assert.equal(inapplicableProblem(key, kind) === undefined, applies, `${key} for ${name}`);
      // Not given: whatever its default, nothing is refused.
      assert.equal(cli(args).refused, undefined, `defaults refused for a ${name} merge`);
      const flag = FLAG[key]?.(kind);
      if (!flag) continue;
      const outcome = cli([...args, ...flag]);
      if (applies) {
        assert.equal(outcome.refused, undefined, `${flag.join(' ')} refused for a ${name} merge`);
        continue;
      }
      assert.ok(outcome.refused, `${flag.join(' ')} accepted for a ${name} merge`);
      assert.doesNotMatch(outcome.refused, /\n/);
      const why = name === 'direct' ? 'this merge is a direct merge' : 'this merge uses the newton solver';
      assert.equal(outcome.refused, `${flag[0]} applies only to ${OPTION_APPLIES_TO[key].usedBy}, and ${why}`);
    }
  });
}

test('the issue\'s cases: --steps 5 --lr 0.5 with the default solver, --lambda 0.5 --solver adam with --method direct', () => {
  assert.equal(
    cli(['--steps', '5', '--lr', '0.5']).refused,
    '--steps applies only to the ziplora method with the adam solver, and this merge uses the newton solver; --lr applies only to the ziplora method with the adam solver, and this merge uses the newton solver',
  );
  assert.equal(
    cli(['--lambda', '0.5', '--solver', 'adam', '--method', 'direct']).refused,
    '--solver applies only to the ziplora method, and this merge is a direct merge; --lambda applies only to the ziplora method, and this merge is a direct merge',
  );
  assert.equal(cli(['--solver', 'adam', '--steps', '5', '--lr', '0.5', '--lambda', '0']).refused, undefined);
});

test('VS Code: a setting the user set that does not apply is a warning naming it; settings left at their defaults say nothing', () => {
  const request: MergeRequest = { ...DEFAULT_MERGE_OPTIONS, inputs: [{ path: 'c', weight: 1 }, { path: 's', weight: 1 }], output: 'o', method: 'direct' };
  assert.deepEqual(inapplicableSettings(request, () => false), []);
  assert.deepEqual(inapplicableSettings(request, (setting) => setting === 'lambda' || setting === 'threads'), [
    'the setting ziplora.lambda applies only to the ziplora method, and this merge is a direct merge',
  ]);
  assert.deepEqual(inapplicableSettings({ ...request, method: 'ziplora' }, (setting) => setting === 'steps'), [
    'the setting ziplora.steps applies only to the ziplora method with the adam solver, and this merge uses the newton solver',
  ]);
});

test('VS Code: a command argument that does not apply is refused like a CLI flag', () => {
  const request: MergeRequest = { ...DEFAULT_MERGE_OPTIONS, inputs: [{ path: 'c', weight: 1 }, { path: 's', weight: 1 }], output: 'o' };
  assert.deepEqual(inapplicableCommandArgs({ content: 'c', style: 's', steps: 5 }, request), ['steps applies only to the ziplora method with the adam solver, and this merge uses the newton solver']);
  assert.deepEqual(inapplicableCommandArgs({ content: 'c', style: 's', steps: 5 }, { ...request, solver: 'adam' }), []);
});
