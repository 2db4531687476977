/**
 * The merge panel's logic that needs no VS Code and no browser: its settings → the merge request, the problems it
 * refuses with, the messages it accepts, the overlap per block, which selection opens it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { readMergeSettings } from '../../src/extension/merge-arguments';
import { panelOverlap } from '../../src/extension/merge-panel-overlap';
import { initialPanelSettings, panelProblems, panelRequest, selectionRoute } from '../../src/extension/merge-panel-request';
import { validateMergeRequest } from '../../src/core/merge/merge-options';
import { isFromMergePanel, MergePanelSettings, withInputRemoved, withInputsAdded } from '../../src/shared/merge-panel-protocol';

const SETTINGS = readMergeSettings(() => undefined);
const dir = path.resolve('/loras');
const file = (name: string) => path.join(dir, `${name}.safetensors`);
const THREE = [file('subject'), file('style'), file('light')];

test('the panel starts with weight 1 each, ZipLoRA, λ and rank from the settings and an output named after the inputs', () => {
  const settings = initialPanelSettings(THREE, { ...SETTINGS, lambda: 0.05, outputRank: 32 }, (f) => f === path.join(dir, 'subject+style+light.safetensors'));
  assert.deepEqual(settings, {
    inputs: THREE.map((p) => ({ path: p, weight: 1 })),
    method: 'ziplora',
    lambda: 0.05,
    rank: 32,
    rankEnergy: null,
    output: path.join(dir, 'subject+style+light-2.safetensors'),
    blocks: [],
  });
  assert.equal(initialPanelSettings(THREE, { ...SETTINGS, lambda: 'auto', outputRankEnergy: 0.99 }, () => false).rankEnergy, 0.99);
  assert.equal(initialPanelSettings(THREE, { ...SETTINGS, lambda: 'auto' }, () => false).lambda, 'auto');
});

test('the request is the panel’s choices over the settings, and a valid one', () => {
  const panel: MergePanelSettings = {
    ...initialPanelSettings(THREE, SETTINGS, () => false),
    inputs: [{ path: THREE[0], weight: 1 }, { path: THREE[1], weight: 0.8 }, { path: THREE[2], weight: 0.5 }],
    lambda: 'auto',
    rankEnergy: 0.99,
    blocks: [{ block: 'unet.mid_block', weights: [1, 1, 0] }, { block: 'text_encoder', method: 'skip' }],
  };
  const request = panelRequest(panel, { ...SETTINGS, backend: 'wasm', threads: 2 }, true);
  assert.deepEqual(request.inputs, panel.inputs);
  assert.equal(request.lambda, 'auto');
  assert.equal(panelRequest({ ...panel, rankEnergy: null }, { ...SETTINGS, outputRank: 16, outputRankEnergy: 0.9 }, false).rankEnergy, undefined, 'an emptied field means exact, whatever the settings');
  assert.equal(request.rankEnergy, 0.99);
  assert.equal('rank' in request, false, 'no rank limit: the key is left out');
  assert.deepEqual(request.blocks, panel.blocks);
  assert.equal(request.backend, 'wasm');
  assert.equal(request.threads, 2);
  assert.equal(request.overwrite, true);
  assert.equal(request.naming, 'first');
  assert.deepEqual(validateMergeRequest(request), []);
  assert.deepEqual(panelProblems(panel, SETTINGS), []);
  // λ means nothing to a direct merge: the request keeps a valid default.
  assert.equal(panelRequest({ ...panel, method: 'direct' }, SETTINGS, false).lambda, SETTINGS.lambda);
});

test('the panel refuses what would not merge, in words that say what to do', () => {
  const panel = initialPanelSettings(THREE, SETTINGS, () => false);
  assert.deepEqual(panelProblems({ ...panel, inputs: panel.inputs.slice(0, 1) }, SETTINGS)[0], 'a merge takes 2 to 8 LoRAs (the panel has 1): add or remove inputs');
  assert.match(panelProblems({ ...panel, inputs: [...panel.inputs, panel.inputs[0]] }, SETTINGS).join('\n'), /input 4 \(subject\.safetensors\) is listed twice: remove one/);
  assert.match(panelProblems({ ...panel, output: '' }, SETTINGS).join('\n'), /the output file is not set: type a path or choose Browse…/);
  assert.match(panelProblems({ ...panel, output: THREE[1] }, SETTINGS).join('\n'), /the output style\.safetensors is one of the inputs/);
  assert.match(panelProblems({ ...panel, rankEnergy: 1.5 }, SETTINGS).join('\n'), /^the rank energy must be a number > 0 and ≤ 1/m);
  assert.match(panelProblems({ ...panel, inputs: panel.inputs.map((i) => ({ ...i, weight: 5 })) }, SETTINGS).join('\n'), /^the inputs must be a list of 2 to 8 inputs/m);
  assert.match(panelProblems({ ...panel, blocks: [{ block: 'unet.mid_block', weights: [1, 1] }] }, SETTINGS).join('\n'), /unet\.mid_block/, 'a block rule with a weight too few');
});

test('adding and removing inputs keeps each block rule’s weights one per input', () => {
  const panel: MergePanelSettings = { ...initialPanelSettings(THREE, SETTINGS, () => false), blocks: [{ block: 'unet.mid_block', weights: [1, 0.5, 0] }, { block: 'text_encoder', method: 'skip' }] };
  const removed = withInputRemoved(panel, 1);
  assert.deepEqual(removed.inputs.map((i) => i.path), [THREE[0], THREE[2]]);
  assert.deepEqual(removed.blocks, [{ block: 'unet.mid_block', weights: [1, 0] }, { block: 'text_encoder', method: 'skip' }]);
  const added = withInputsAdded(removed, [file('extra'), THREE[0], file('extra')], 8);
  assert.deepEqual(added.inputs.map((i) => [path.basename(i.path), i.weight]), [['subject.safetensors', 1], ['light.safetensors', 1], ['extra.safetensors', 1]], 'known and repeated files are not added twice');
  assert.deepEqual(added.blocks[0].weights, [1, 0, 1]);
  assert.equal(withInputsAdded(added, [file('a'), file('b')], 4).inputs.length, 4, 'at most the maximum');
});

test('the host accepts only well-formed messages from the page', () => {
  const settings = initialPanelSettings(THREE, SETTINGS, () => false);
  for (const ok of [{ type: 'ready' }, { type: 'addInputs' }, { type: 'browseOutput' }, { type: 'cancelMerge' }, { type: 'changed', settings }, { type: 'saveRecipe', settings }, { type: 'merge', settings: { ...settings, lambda: 'auto', rank: 16 } }]) {
    assert.equal(isFromMergePanel(ok), true, JSON.stringify(ok).slice(0, 80));
  }
  for (const bad of [
    null,
    'merge',
    { type: 'merge' },
    { type: 'exec', settings },
    { type: 'merge', settings: { ...settings, lambda: 'big' } },
    { type: 'merge', settings: { ...settings, inputs: [{ path: 3, weight: 1 }] } },
    { type: 'merge', settings: { ...settings, rank: Number.NaN } },
    { type: 'saveRecipe', settings: { ...settings, blocks: [{ block: 'unet.mid_block', weights: ['1'] }] } },
    { type: 'changed', settings: { ...settings, output: 'x'.repeat(5000) } },
  ]) {
    assert.equal(isFromMergePanel(bad), false, JSON.stringify(bad)?.slice(0, 120));
  }
});

test('the overlap per block is the worker comparison’s pairs and blocks, as the panel draws them', () => {
  const layer = { module: 'unet.mid_block.attentions.0.proj_in', meanAbsCosine: 0.3, normFirst: 1, normSecond: 1, columnsCompared: 8 };
  const pair = (a: number, b: number) => ({ a, b, paired: 1, onlyInFirst: [], onlyInSecond: [], refused: [], layers: [layer] });
  const overlap = panelOverlap({
    pairs: [pair(0, 1), pair(0, 2), pair(1, 2)],
    blocks: [{ block: 'text_encoder', meanAbsCosine: [null, 0.1, 0.2] }, { block: 'unet.mid_block', meanAbsCosine: [0.3, 0.9, null] }],
  });
  assert.deepEqual(overlap, {
    pairs: [[0, 1], [0, 2], [1, 2]],
    blocks: [{ block: 'text_encoder', meanAbsCosine: [null, 0.1, 0.2] }, { block: 'unet.mid_block', meanAbsCosine: [0.3, 0.9, null] }],
  });
});

test('a selection of 2 files is the two-file flow, 3 to 8 open the panel, others are refused with the count', () => {
  assert.equal(selectionRoute(2), 'two');
  assert.equal(selectionRoute(3), 'panel');
  assert.equal(selectionRoute(8), 'panel');
  assert.equal(selectionRoute(1), 'Select 2 to 8 .safetensors files to merge (1 selected).');
  assert.equal(selectionRoute(9), 'Select 2 to 8 .safetensors files to merge (9 selected).');
});
