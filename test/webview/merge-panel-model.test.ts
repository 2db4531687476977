/** The merge panel page's edits (webview/merge-panel-model.ts): pure functions, no browser needed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MergePanelSettings } from '../../src/shared/merge-panel-protocol.js';
import { blockRow, fieldNumber, heatLevel, inputLabel, overlapMax, withBlockRow } from '../../webview/merge-panel-model.js';

const panel: MergePanelSettings = {
  inputs: ['/l/a.safetensors', '/l/b.safetensors', '/l/c.safetensors'].map((path) => ({ path, weight: 1 })),
  method: 'ziplora',
  lambda: 0.03,
  rank: null,
  rankEnergy: null,
  output: '/l/out.safetensors',
  blocks: [],
};

test('a block row is the default until edited, and its rule goes away when it is back to the default', () => {
  assert.deepEqual(blockRow(panel, 'unet.mid_block'), { weights: [1, 1, 1], method: 'zip', custom: false });
  const weighted = withBlockRow(panel, 'unet.mid_block', { weights: [1, 0.5, 1], method: 'zip' });
  assert.deepEqual(weighted.blocks, [{ block: 'unet.mid_block', weights: [1, 0.5, 1] }]);
  const both = withBlockRow(weighted, 'unet.mid_block', { weights: [1, 0.5, 1], method: 'direct' });
  assert.deepEqual(both.blocks, [{ block: 'unet.mid_block', weights: [1, 0.5, 1], method: 'direct' }]);
  const twoRules = withBlockRow(both, 'text_encoder', { weights: [1, 1, 1], method: 'skip' });
  assert.deepEqual(withBlockRow(twoRules, 'unet.mid_block', { weights: [1, 0, 1], method: 'direct' }).blocks.map((r) => r.block), ['unet.mid_block', 'text_encoder'], 'an edited rule keeps its place');
  assert.deepEqual(withBlockRow(twoRules, 'unet.mid_block', { weights: [1, 1, 1], method: 'zip' }).blocks, [{ block: 'text_encoder', method: 'skip' }]);
  assert.deepEqual(blockRow({ ...panel, method: 'direct' }, 'unet.mid_block').method, 'direct', 'a direct merge sums every block by default');
  assert.equal(fieldNumber(' '), null);
  assert.ok(Number.isNaN(fieldNumber('1e')!));
  assert.equal(fieldNumber('0.25'), 0.25);
  assert.deepEqual([heatLevel(null), heatLevel(0), heatLevel(0.44), heatLevel(0.46), heatLevel(1.2)], [null, 0, 4, 5, 10]);
  // Relative to the table's largest value: real overlaps of a few hundredths still shade.
  assert.deepEqual([heatLevel(0.02, 0.08), heatLevel(0.08, 0.08), heatLevel(0.05, 0)], [3, 10, 0]);
  assert.equal(overlapMax([{ meanAbsCosine: [0.02, null] }, { meanAbsCosine: [0.08, 0.05] }]), 0.08);
  assert.equal(overlapMax([{ meanAbsCosine: [null] }]), 0);
});

test('inputs are content and style for two, numbered for more', () => {
  assert.deepEqual([inputLabel(0, 2), inputLabel(1, 2)], ['content', 'style']);
  assert.deepEqual([inputLabel(0, 3), inputLabel(2, 3)], ['input 1', 'input 3']);
});
