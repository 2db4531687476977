import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { runCompare } from '../../src/cli/compare';
import { runInspect } from '../../src/cli/inspect';
import { writeSafetensors } from '../support/write-safetensors';
import { tempDir } from '../support/build-safetensors';
import { LayerSpec, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';

const ROOT = path.resolve(__dirname, '../..');
const LAYERS: LayerSpec[] = [
  { canonical: 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', downShape: [4, 640], upShape: [640, 4] },
  { canonical: 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [4, 2048], upShape: [640, 4] },
  { canonical: 'text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj', downShape: [4, 1280], upShape: [1280, 4] },
];

async function files() {
  const dir = tempDir();
  const kohya = path.join(dir, 'kohya.safetensors');
  const peft = path.join(dir, 'peft.safetensors');
  const random = seededRandom(5);
  await writeLora(kohya, LAYERS, (l) => randomLayerValues(l, random, 2), { scheme: 'kohya', family: 'sdxl', dtype: 'BF16' });
  await writeLora(peft, LAYERS.slice(0, 2), (l) => randomLayerValues(l, random), { scheme: 'peft', family: 'sdxl' });
  const lokr = path.join(dir, 'lokr.safetensors');
  await writeSafetensors(lokr, [{ name: 'lora_unet_x.lokr_w1', dtype: 'F32', shape: [2, 2], data: new Uint8Array(16) }]);
  return { dir, kohya, peft, lokr };
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
}

test('inspect --json adds the LoRA summary; a non-LoRA gets lora: null and a kind', async () => {
  const { kohya, lokr } = await files();
  const lines: string[] = [];
  await runInspect([kohya, '--json'], (t) => lines.push(t));
  const parsed = JSON.parse(lines.join('\n'));
  assert.equal(parsed.lora.scheme, 'kohya');
  assert.equal(parsed.lora.baseModel.family, 'sdxl');
  assert.equal(parsed.lora.layers.length, 3);
  const layer = parsed.lora.layers.find((l: { module: string }) => l.module === LAYERS[1].canonical);
  assert.deepEqual([layer.kind, layer.in, layer.out, layer.rank, layer.alpha, layer.scale], ['linear', 2048, 640, 4, 2, 0.5]);
  assert.ok(layer.norm > 0);
  const other: string[] = [];
  await runInspect([lokr, '--json'], (t) => other.push(t));
  const otherParsed = JSON.parse(other.join('\n'));
  assert.equal(otherParsed.lora, null);
  assert.match(otherParsed.kind, /LoKr/);
});

test('compare --json lists pairs, one-sided layers and column cosines', async () => {
  const { kohya, peft } = await files();
  const lines: string[] = [];
  await runCompare([kohya, peft, '--json'], (t) => lines.push(t));
  const parsed = JSON.parse(lines.join('\n'));
  assert.equal(parsed.pairing.paired, 2);
  assert.deepEqual(parsed.pairing.onlyInFirst, [LAYERS[2].canonical]);
  assert.equal(parsed.layers.length, 2);
  for (const layer of parsed.layers) assert.ok(layer.meanAbsCosine > 0 && layer.meanAbsCosine < 1, String(layer.meanAbsCosine));
  const text: string[] = [];
  await runCompare([kohya, peft], (t) => text.push(t));
  assert.match(text.join('\n'), /Pairing {6}2 paired, 1 only in A, 0 only in B, 0 refused/);
});

test('compare A B C --json: every pair, its layers, and each pair\'s mean |cos| per block', async () => {
  const { kohya, peft } = await files();
  const lines: string[] = [];
  await runCompare([kohya, peft, kohya, '--json'], (t) => lines.push(t));
  const parsed = JSON.parse(lines.join('\n'));
  assert.deepEqual(parsed.files.map((f: { letter: string }) => f.letter), ['A', 'B', 'C']);
  assert.deepEqual(parsed.pairs.map((p: { pair: string; paired: number }) => [p.pair, p.paired]), [['A·B', 2], ['A·C', 3], ['B·C', 2]]);
  assert.deepEqual(parsed.pairs[0].onlyInFirst, [LAYERS[2].canonical]);
  const down = parsed.blocks.find((b: { block: string }) => b.block === 'unet.down_blocks.1');
  assert.deepEqual(down.pairs.map((p: { pair: string; layers: number }) => [p.pair, p.layers]), [['A·B', 2], ['A·C', 2], ['B·C', 2]]);
  assert.ok(Math.abs(down.pairs[1].meanAbsCosine - 1) < 1e-5, 'a file against itself');
  const textEncoder = parsed.blocks.find((b: { block: string }) => b.block === 'text_encoder_2');
  assert.deepEqual(textEncoder.pairs.map((p: { meanAbsCosine: number | null }) => p.meanAbsCosine === null), [true, false, true], 'only A and C have the text encoder');
  const text: string[] = [];
  await runCompare([kohya, peft, kohya], (t) => text.push(t));
  assert.match(text.join('\n'), /^block\s+A·B\s+A·C\s+B·C$/m);
});

test('compare exit codes: 1 with one line naming a non-LoRA file, 2 for wrong usage', async () => {
  const { kohya, lokr } = await files();
  const bad = cli('compare', kohya, lokr);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, new RegExp(`${lokr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: holds LyCORIS LoKr`));
  assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/);
  const usage = cli('compare', kohya);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /compare takes 2 to 8 LoRA files A B \[C …\] \(got 1\)/);
});
