/**
 * Block labels under the per-layer charts (src/core/view/block-labels.ts, drawn by webview/charts/layer-chart.ts): a Flux LoRA's 19 double-stream blocks
 * (10 layers each) and 38 single-stream blocks (one layer each) on an 1200-pixel axis, text 6 pixels a character.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockSpans } from '../../src/core/lora/network-blocks';
import { blockLabels, PlacedSpan } from '../../src/core/view/block-labels';

const DOUBLE = ['img_attn.qkv', 'img_attn.proj', 'img_mlp.0', 'img_mlp.2', 'img_mod.lin', 'txt_attn.qkv', 'txt_attn.proj', 'txt_mlp.0', 'txt_mlp.2', 'txt_mod.lin'];
const MODULES = [
  ...Array.from({ length: 19 }, (_, b) => DOUBLE.map((m) => `transformer.double_blocks.${b}.${m}`)).flat(),
  ...Array.from({ length: 38 }, (_, b) => `transformer.single_blocks.${b}.linear1`),
];
const measure = (text: string) => 6 * text.length;

function placed(modules: readonly string[], width: number): PlacedSpan[] {
  const perLayer = width / modules.length;
  return blockSpans(modules).map((span) => ({ span, left: span.start * perLayer, right: (span.end + 1) * perLayer }));
}

test('Flux: every double-stream block labelled; the single-stream blocks, too narrow one by one, every k-th with room for each label', () => {
  const spans = placed(MODULES, 1200);
  const labels = blockLabels(spans, measure);
  const double = labels.filter((l) => l.align === 'center');
  assert.deepEqual(double.map((l) => l.text), Array.from({ length: 19 }, (_, b) => `db ${b}`));
  const single = labels.filter((l) => l.align === 'left');
  // 38 blocks of 1200/228 ≈ 5.3 px: "sb 30" (30 px) needs 6 blocks' room, so every 10th.
  assert.deepEqual(single.map((l) => l.text), ['sb 0', 'sb 10', 'sb 20', 'sb 30']);
  const singleSpans = spans.filter((p) => p.span.block.group === 'transformer.single_blocks');
  assert.deepEqual(single.map((l) => l.x), [0, 10, 20, 30].map((i) => singleSpans[i].left + 2), 'each at its block');
  // No two labels overlap.
  const sorted = [...labels].sort((a, b) => a.x - b.x).map((l) => (l.align === 'left' ? [l.x, l.x + measure(l.text)] : [l.x - measure(l.text) / 2, l.x + measure(l.text) / 2]));
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i][0] >= sorted[i - 1][1], `labels ${i - 1} and ${i} overlap`);
});

test('blocks wide enough each get their own centred label; a lone block that fits nothing gets none', () => {
  const wide = blockLabels(placed(MODULES.slice(0, 30), 1200), measure);
  assert.deepEqual(wide.map((l) => [l.text, l.align]), [0, 1, 2].map((b) => [`transformer.double_blocks.${b}`, 'center']));
  assert.deepEqual(blockLabels(placed(['transformer.final_layer.linear', ...MODULES.slice(0, 10)], 60), measure).filter((l) => l.text.includes('final')), []);
});
