/** The grouping of 2..8 LoRAs' layers (merge-groups.ts) and what weights and block rules make of it (weighted-groups.ts). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openLora } from '../../src/core/lora/open-lora';
import { pairLayers } from '../../src/core/lora/pairing';
import { groupLayers, GroupingError } from '../../src/core/merge/merge-groups';
import { BlockRuleError, weighGroups } from '../../src/core/merge/weighted-groups';
import { tempDir } from '../support/build-safetensors';
import { GeneratedScheme, LayerSpec, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { SD15_LAYERS } from '../support/merge-fixtures';

const dir = tempDir();
const [TO_Q, TO_K, MID, PROJ_IN, CONV] = SD15_LAYERS.map((l) => l.canonical);

async function inputs(specs: { layers: LayerSpec[]; scheme: GeneratedScheme; family?: 'sd1' | 'sdxl' }[]) {
  const opened = [];
  for (const [i, spec] of specs.entries()) {
    const file = path.join(dir, `${i}-${spec.scheme}-${Math.random().toString(36).slice(2)}.safetensors`);
    await writeLora(file, spec.layers, (l, k) => randomLayerValues(l, seededRandom(10 * i + k)), { scheme: spec.scheme, family: spec.family ?? 'sd1' });
    const lora = await openLora(file);
    await lora.file.close();
    opened.push({ name: `input${i + 1}.safetensors`, layers: lora.lora.layers, baseModel: lora.lora.baseModel });
  }
  return opened;
}

const membersOf = (grouping: ReturnType<typeof groupLayers>) => Object.fromEntries(grouping.groups.map((g) => [g.module, g.members.map((m) => m.input)]));

test('three inputs in two namings: one group per weight, each with the inputs that have it, in input order', async () => {
  const loras = await inputs([
    { layers: [SD15_LAYERS[0], SD15_LAYERS[1], SD15_LAYERS[2]], scheme: 'kohya' },
    { layers: [SD15_LAYERS[1], SD15_LAYERS[2], SD15_LAYERS[3]], scheme: 'peft' },
    { layers: [SD15_LAYERS[2], SD15_LAYERS[3], SD15_LAYERS[4]], scheme: 'kohya' },
  ]);
  const grouping = groupLayers(loras);
  assert.deepEqual(membersOf(grouping), { [TO_Q]: [0], [TO_K]: [0, 1], [MID]: [0, 1, 2], [PROJ_IN]: [1, 2], [CONV]: [2] });
  assert.deepEqual(grouping.refused, []);
  // Two inputs: the groups are the two-way pairing's pairs, in its order.
  const two = groupLayers(loras.slice(0, 2));
  const pairing = pairLayers(loras[0], loras[1]);
  assert.deepEqual(
    two.groups.filter((g) => g.members.length === 2).map((g) => g.module),
    pairing.paired.map((p) => p.module),
  );
});

test('weights and block rules: a weight 0 leaves an input out, one left is copied scaled, skip and all-zero are not written', async () => {
  const loras = await inputs([
    { layers: SD15_LAYERS, scheme: 'kohya' },
    { layers: SD15_LAYERS, scheme: 'peft' },
    { layers: SD15_LAYERS.slice(0, 4), scheme: 'kohya' },
  ]);
  const grouping = groupLayers(loras);
  const files = ['a', 'b', 'c'].map((name, i) => ({ path: name, weight: [0.5, 1, 2][i] }));
  const weighed = weighGroups(grouping, {
    inputs: files,
    method: 'ziplora',
    blocks: [
      { block: 'unet.mid_block', weights: [1, 0, 0] },
      { block: 'unet.down_blocks.0', method: 'direct' },
      { block: 'unet.down_blocks.0', weights: [0, 0, 1] },
    ],
  });
  // down_blocks.0: only input 3 (weight 2 × 1) is left where it has the layer; the conv, which it lacks, has none.
  assert.deepEqual(weighed.merged, []);
  assert.deepEqual(
    weighed.copied.map((c) => [c.module, c.member.input, c.weight]),
    // By input, then in the order of the input's layers (sorted by name as the file is read).
    [[MID, 0, 0.5], [PROJ_IN, 2, 2], [TO_Q, 2, 2], [TO_K, 2, 2]],
  );
  assert.deepEqual(weighed.skipped.map((s) => [s.module, s.reason]), [[CONV, 'the weight of input 1, input 2 is 0 in block unet.down_blocks.0']]);
  const zip = weighGroups(grouping, { inputs: files, method: 'ziplora', blocks: [{ block: 'unet.mid_block', method: 'skip' }, { block: 'unet.down_blocks', weights: [1, 0.5, 1] }] });
  assert.deepEqual(zip.skipped.map((s) => s.module), [MID]);
  assert.ok(/skipped by a block rule/.test(zip.skipped[0].reason));
  const toQ = zip.merged.find((g) => g.module === TO_Q)!;
  assert.deepEqual([toQ.method, toQ.members.map((m) => m.input), toQ.weights], ['zip', [0, 1, 2], [0.5, 0.5, 2]]);
  assert.equal(weighGroups(grouping, { inputs: files, method: 'direct', blocks: [] }).merged[0].method, 'direct', 'a direct merge is direct in every block');
});

test('a block rule that names no block of the inputs is refused with the nearest names', async () => {
  const loras = await inputs([{ layers: SD15_LAYERS, scheme: 'kohya' }, { layers: SD15_LAYERS, scheme: 'peft' }]);
  assert.throws(
    () => weighGroups(groupLayers(loras), { inputs: [{ path: 'a', weight: 1 }, { path: 'b', weight: 1 }], method: 'ziplora', blocks: [{ block: 'unet.mid_blocks', method: 'skip' }] }),
    (error: unknown) => error instanceof BlockRuleError && /^block rule unet\.mid_blocks:skip matches no block of the inputs \(nearest: unet\.mid_block/.test(error.message),
  );
});

test('an input for another base model than the ones before it is refused, naming the files', async () => {
  const sdxl: LayerSpec = { canonical: 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [2, 2048], upShape: [640, 2] };
  const loras = await inputs([
    { layers: SD15_LAYERS, scheme: 'kohya' },
    { layers: SD15_LAYERS, scheme: 'peft' },
    { layers: [sdxl], scheme: 'kohya', family: 'sdxl' },
  ]);
  assert.throws(() => groupLayers(loras), (error: unknown) => error instanceof GroupingError && /^cannot merge input1\.safetensors, input2\.safetensors and input3\.safetensors: /.test(error.message));
});
