/** The combined prefilter of the tensor-name rules answers as testing each pattern in turn, on real and synthetic names. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { anyPattern } from '../../src/core/lora/any-pattern';
import { ROLE_PATTERNS, roleOfTensor } from '../../src/core/lora/tensor-names';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { REAL_FIXTURES, SHAPE_DUMPS } from '../support/build-safetensors';
import { readShapeDumpFile, seededRandom } from '../support/lora-generators';
import { hasFixtures } from '../support/requirements';

/** The reference: each pattern's exec in turn, the first match decides. */
function firstInTurn(patterns: readonly RegExp[], text: string): { index: number; match: RegExpExecArray } | undefined {
  for (let index = 0; index < patterns.length; index++) {
    const match = patterns[index].exec(text);
    if (match) return { index, match };
  }
  return undefined;
}

/** Index, groups and position of an answer, comparable with deepEqual. */
const shown = (found: { index: number; match: RegExpExecArray } | undefined) =>
  found && { index: found.index, groups: [...found.match], at: found.match.index, named: found.match.groups };

function assertAgrees(patterns: readonly RegExp[], texts: readonly string[]): void {
  // Copies for the reference, so that `g` patterns' lastIndex moves alike on both sides.
  const reference = patterns.map((p) => new RegExp(p));
  const any = anyPattern(patterns.map((p) => new RegExp(p)));
  for (const text of texts) assert.deepEqual(shown(any.exec(text)), shown(firstInTurn(reference, text)), text);
}

const TOKENS = [
  'lora_', 'unet', 'te', 'te1', '_', '.', 'down', 'up', 'weight', 'bias', 'alpha', 'lora_A', 'lora_B', 'lora_a', 'lora_b', 'lora',
  'lora_down', 'lora_up', 'lora_mid', 'hada_w1_a', 'hada_t2', 'lokr_w1', 'lokr_w2_b', 'dora_scale', 'lora_magnitude_vector', 'diff',
  'diff_b', 'a1', 'b2', 'processor', 'to_q', 'to_out', '_lora', 'lora_linear_layer', ':', '0', '12', 'double_blocks', 'single_blocks',
  'qkv', 'proj', 'lora1', 'lora2', 'scale', 'query_norm', 'key_norm', 'ia3_l', 'oft_r', 'vera_lambda_b', 'prompt_embeddings',
  'prompt_encoder', 'text_encoder', 'default', 'down_blocks', 'attn2', 'ß', ' ',
];

/** Names stitched from the rules' own words, so that many match one rule, several rules, or nearly one. */
function syntheticNames(count: number): string[] {
  const random = seededRandom(7);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    let name = '';
    const parts = 1 + Math.floor(random() * 8);
    for (let k = 0; k < parts; k++) name += TOKENS[Math.floor(random() * TOKENS.length)];
    names.push(name);
  }
  return names;
}

const HAND_PICKED = [
  'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', 'lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha',
  'transformer.single_transformer_blocks.0.attn.to_k.lora_A.weight', 'x.lora_A.default.weight', 'x.lora_B.bias', 'x.lora_a', 'x.alpha',
  'double_blocks.3.processor.qkv_lora2.down.weight', 'double_blocks.0.img_attn.norm.query_norm.scale', 'unet:12:down', 'prompt_embeddings',
  'a.processor.to_out_lora.up.weight', 'a.lora.down.weight', 'a.lora_linear_layer.up.weight', 'lora_unet_x.diff_b', 'lora_unet_x.a1.weight',
  'a.lora_magnitude_vector.default.weight', 'a.hada_w1_a', 'a.lokr_t2', 'a.lora_mid.weight', 'a.ia3_l.default', '', '.', 'alpha', 'down_blocks.0.resnets.0.conv1.weight',
];

test('the tensor-name rules: the prefilter agrees with each rule in turn on hand-picked and synthetic names', () => {
  assertAgrees(ROLE_PATTERNS, [...HAND_PICKED, ...syntheticNames(20_000)]);
});

test('the tensor-name rules: the prefilter agrees with each rule in turn on every real and shape-dump name', async (t) => {
  if (!hasFixtures(t, REAL_FIXTURES, SHAPE_DUMPS)) return;
  const names: string[] = [];
  for (const file of readdirSync(REAL_FIXTURES).filter((f) => f.endsWith('.safetensors'))) {
    try {
      await withSafetensors(path.join(REAL_FIXTURES, file), async (read) => void names.push(...read.tensors.map((x) => x.name)));
    } catch {
      // A fixture that is deliberately broken has no names to try.
    }
  }
  for (const file of readdirSync(SHAPE_DUMPS).filter((f) => f.endsWith('.json'))) names.push(...readShapeDumpFile(path.join(SHAPE_DUMPS, file)).map((x) => x.name));
  assert.ok(names.length > 3000, `only ${names.length} names`);
  // Real names with the words of other rules appended: module paths of every shape, under each rule.
  const suffixes = ['.lora_down.weight', '.lora_B.weight', '.alpha', '.hada_w2_b', '.lora_b', '.processor.to_v_lora.down.weight', '.lora_B.bias'];
  const withSuffixes = names.slice(0, 400).flatMap((n) => suffixes.map((s) => n.replace(/\.weight$/, '') + s));
  assertAgrees(ROLE_PATTERNS, [...names, ...withSuffixes]);
  const kinds = new Set([...names, ...withSuffixes].map((n) => roleOfTensor(n).kind));
  assert.deepEqual([...kinds].sort(), ['alpha', 'factor', 'other-adapter', 'unrelated']);
});

test('patterns the alternation cannot hold keep their own test, in their place in the order', () => {
  const patterns = [/^b/i, /^(a)\1$/, /(?<w>x+)y\k<w>/, /^(?<lead>q)r/, /c$/, /^ab/, /z/g, /(?<=k)m/, /(?<!n)o/];
  const texts = ['B', 'aa', 'ab', 'xxyxx', 'xyxx', 'qr', 'abc', 'Abc', 'z', 'az', 'km', 'nm', 'no', 'po', 'zz', '', 'bz', 'aaz'];
  assertAgrees(patterns, texts);
  assertAgrees([...patterns.slice(1), patterns[0]], texts); // the alternation's flags are then '', and /^b/i is alone
  // A `g` pattern's exec moves its lastIndex: the prefilter must leave the same state as each exec in turn would.
  const a = [/^x/, /z/g];
  const b = [/^x/, /z/g];
  const any = anyPattern(b);
  for (const text of ['zz', 'zz', 'zz', 'xz', 'zz']) {
    assert.deepEqual(shown(any.exec(text)), shown(firstInTurn(a, text)), text);
    assert.equal(b[1].lastIndex, a[1].lastIndex);
  }
});

test('a combined pattern that is not anchored still answers with the first pattern in order, not the leftmost match', () => {
  assertAgrees([/c$/, /^ab/, /b/], ['abc', 'ab', 'cab', 'b', 'xc']);
  assertAgrees([], ['a', '']);
  assertAgrees([/a/i, /A/], ['a', 'A', 'b']);
});

test('patterns that share their first pieces agree too: quantifiers, classes, groups, alternations and escapes', () => {
  const patterns = [
    /^(.+)\.a$/, /^(.+)\.ab?$/, /^(.+)\.b{2,3}$/, /^(.+)\.b{2}c/, /^(.+?)x*\.[)|(]+$/, /^(.+)\.(?:c|d(e))$/, /^a|^q/, /^(.+)/,
    /^x|y$/, /^xz/, /^[\]a]+z$/, /^[^]y$/, /^\u0041\x42$/, /^\cJ$/, /^(?=ab)a(b)c$/, /^((a)|b)\.(x)$/, /^$/, /^a(?!b)/, /\.$/, /(.+)(\.)/,
  ];
  const texts = ['x.a', 'x.ab', 'x.abb', 'x.bb', 'x.bbbc', 'x.bbbb', 'x.)|', 'xx.(', 'x.c', 'x.de', 'x.d', 'a', 'q', 'ba', ']az', 'az', '\nz',
    '\ny', 'xa', 'ay', 'xz', 'AB', '\n', 'abc', 'b.x', 'a.x', '', 'ab', 'ac', '.', 'x.', 'x.e'];
  for (let start = 0; start < patterns.length; start++) {
    // Every pattern first in turn: the first one's flags and its place among the others change what is combined.
    assertAgrees([...patterns.slice(start), ...patterns.slice(0, start)], texts);
  }
  // Alone, where no catch-all pattern lets every text through the prefilter.
  assertAgrees([/^x|y$/, /^xz/, /^[)|]b/, /^[)|]c/], ['xa', 'ay', 'xz', 'y', 'a', ')b', '|c', 'b', 'c']);
  assertAgrees(patterns.map((p) => new RegExp(p.source, 'i')), texts.map((t) => t.toUpperCase()));
  assertAgrees(patterns.map((p) => new RegExp(p.source, 'm')), texts.map((t) => `${t}\n${t}`));
});

test('sources the piece reader cannot split stay whole: astral characters under u, old octal escapes', () => {
  // Split one UTF-16 unit at a time, the two emoji share a high surrogate: a shared prefix would cut a character.
  const emoji = anyPattern([/^😀$/u, /^😁$/u]);
  assert.equal(emoji.exec('😀')?.index, 0);
  assert.equal(emoji.exec('😁')?.index, 1);
  assert.equal(emoji.exec('x'), undefined);
  // \01 is one character (octal 1), not \0 then "1".
  const octal = anyPattern([new RegExp('^a\\01$'), new RegExp('^a\\02$')]);
  assert.equal(octal.exec('a\x01')?.index, 0);
  assert.equal(octal.exec('a\x02')?.index, 1);
  assert.equal(octal.exec('a\x001'), undefined);
});
