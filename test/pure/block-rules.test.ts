/** Per-block weights and methods (src/core/merge/block-rules.ts): the `--block` syntax, its checks and its matching. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  blockPatternProblem,
  blockRuleProblems,
  blockRulesProblems,
  blockSettingsFor,
  formatBlockRule,
  nearestBlockNames,
  parseBlockRule,
  patternMatches,
  unknownBlockProblems,
  unmatchedRules,
} from '../../src/core/merge/block-rules';

test('the --block syntax: weights, a method, or both', () => {
  assert.deepEqual(parseBlockRule('unet.down_blocks.1=1,0.5'), { block: 'unet.down_blocks.1', weights: [1, 0.5] });
  assert.deepEqual(parseBlockRule('unet.mid_block:direct'), { block: 'unet.mid_block', method: 'direct' });
  assert.deepEqual(parseBlockRule('text_encoder:SKIP'), { block: 'text_encoder', method: 'skip' });
  assert.deepEqual(parseBlockRule('transformer.single_transformer_blocks.0-19=1,0'), { block: 'transformer.single_transformer_blocks.0-19', weights: [1, 0] });
  assert.deepEqual(parseBlockRule(' unet.up_blocks : zip = 0.5 , 1 , 2 '), { block: 'unet.up_blocks', method: 'zip', weights: [0.5, 1, 2] });
  for (const text of ['unet.down_blocks.1=1,0.5', 'unet.mid_block:direct', 'unet.up_blocks:zip=0.5,1,2']) assert.equal(formatBlockRule(parseBlockRule(text)), text);
});

test('malformed --block texts are refused with what to write', () => {
  const refused: Record<string, RegExp> = {
    'unet.mid_block': /give weights or a method/,
    '=1,1': /the block must be a block name/,
    'unet.mid_block:blend': /method must be one of zip, direct, skip \(got "blend"\)/,
    'unet.mid_block=1,,1': /numbers separated by commas.*got ""/,
    'unet.mid_block=1,x': /got "x"/,
    'unet.mid_block=1,Infinity': /got "Infinity"/,
    'unet.down blocks.1=1,1': /not a block name/,
    'transformer.single_blocks.19-0=1,1': /runs backwards: write it as 0-19/,
    'unet.*=1,1': /not a block name/,
    '0-3=1,1': /needs the blocks it counts in front of it/,
  };
  for (const [text, message] of Object.entries(refused)) assert.throws(() => parseBlockRule(text), message, text);
  assert.equal(blockPatternProblem('unet.down_blocks.0-3'), undefined);
  assert.match(blockPatternProblem('unet.0-3.attn')!, /not a block name/);
});

test('each weight must be finite, in [0, 4], one per input; the method one of zip, direct, skip', () => {
  assert.deepEqual(blockRuleProblems({ block: 'unet.mid_block', weights: [0, 4, 1] }, 3), []);
  assert.deepEqual(blockRuleProblems({ block: 'unet.mid_block', weights: [1, 1] }, 3), [{ field: 'weights', message: 'give one weight per input: 3 numbers (got 2)' }]);
  assert.deepEqual(
    blockRuleProblems({ block: 'unet.mid_block', weights: [-0.5, 4.01, NaN] }, 3).map((p) => [p.field, p.index]),
    [['weights', 0], ['weights', 1], ['weights', 2]],
  );
  assert.match(blockRuleProblems({ block: 'unet.mid_block', weights: [1, 5] }, 2)[0].message, /weight of input 2 must be a number from 0 to 4 \(got 5\)/);
  assert.deepEqual(blockRuleProblems({ block: 'unet.mid_block', method: 'blend' as never }, 2).map((p) => p.field), ['method']);
  assert.deepEqual(blockRuleProblems({ block: 'unet.mid_block' }, 2).map((p) => p.field), ['block']);
  assert.deepEqual(blockRulesProblems([{ block: 'unet.mid_block', weights: [1, 9] }], 2), ['block rule unet.mid_block=1,9: the weight of input 2 must be a number from 0 to 4 (got 9)']);
});

test('a pattern matches its block, the blocks it is a dotted prefix of, and the indices of its range', () => {
  assert.ok(patternMatches('unet.mid_block', 'unet.mid_block'));
  assert.ok(patternMatches('unet.up_blocks', 'unet.up_blocks.2'));
  assert.ok(patternMatches('unet', 'unet.down_blocks.0'));
  assert.ok(!patternMatches('unet.up_block', 'unet.up_blocks.2'), 'a prefix applies at a dot only');
  assert.ok(!patternMatches('unet.down_blocks.1', 'unet.down_blocks.10'));
  assert.ok(!patternMatches('text_encoder', 'text_encoder_2'));
  assert.ok(patternMatches('transformer.single_blocks.0-19', 'transformer.single_blocks.0'));
  assert.ok(patternMatches('transformer.single_blocks.0-19', 'transformer.single_blocks.19'));
  assert.ok(!patternMatches('transformer.single_blocks.0-19', 'transformer.single_blocks.20'));
  assert.ok(!patternMatches('transformer.single_blocks.0-19', 'transformer.double_blocks.3'));
  assert.ok(!patternMatches('transformer.single_blocks.0-19', 'transformer.single_blocks'));
});

test('the settings of a module: weight 1 and the default method, then each matching rule field by field', () => {
  const rules = [
    parseBlockRule('unet.up_blocks=0.5,1,1'),
    parseBlockRule('unet.up_blocks.1:direct'),
    parseBlockRule('unet.up_blocks.1=0,1,2'),
    parseBlockRule('text_encoder:skip'),
  ];
  assert.deepEqual(blockSettingsFor('unet.down_blocks.0.attentions.0.proj_in', rules, 3), { weights: [1, 1, 1], method: 'zip' });
  assert.deepEqual(blockSettingsFor('unet.down_blocks.0.attentions.0.proj_in', rules, 3, 'direct'), { weights: [1, 1, 1], method: 'direct' });
  assert.deepEqual(blockSettingsFor('unet.up_blocks.0.attentions.0.proj_in', rules, 3), { weights: [0.5, 1, 1], method: 'zip' });
  assert.deepEqual(blockSettingsFor('unet.up_blocks.1.attentions.2.transformer_blocks.0.attn1.to_q', rules, 3), { weights: [0, 1, 2], method: 'direct' });
  assert.deepEqual(blockSettingsFor('text_encoder.text_model.encoder.layers.3.mlp.fc1', rules, 3), { weights: [1, 1, 1], method: 'skip' });
  // A later method-only rule keeps the weights an earlier rule set.
  assert.deepEqual(blockSettingsFor('unet.up_blocks.0.resnets.0.conv1', [...rules, parseBlockRule('unet:direct')], 3), { weights: [0.5, 1, 1], method: 'direct' });
  const flux = [parseBlockRule('transformer.single_transformer_blocks.0-19=1,0')];
  assert.deepEqual(blockSettingsFor('transformer.single_transformer_blocks.7.proj_out', flux, 2).weights, [1, 0]);
  assert.deepEqual(blockSettingsFor('transformer.single_transformer_blocks.20.proj_out', flux, 2).weights, [1, 1]);
  assert.throws(() => blockSettingsFor('unet.up_blocks.0.attentions.0.proj_in', rules, 2), /3 weights for 2 inputs/);
});

test('a rule matching no block: one line naming it and the nearest known block names', () => {
  const known = ['text_encoder', 'unet.down_blocks.0', 'unet.down_blocks.1', 'unet.down_blocks.2', 'unet.mid_block', 'unet.up_blocks.1', 'unet.up_blocks.2'];
  const rules = [parseBlockRule('unet.down_block.1=1,0'), parseBlockRule('unet.up_blocks:skip'), parseBlockRule('unet.middle_block:direct'), parseBlockRule('unet.down_blocks.5-9=1,1')];
  assert.deepEqual(unmatchedRules(rules, known), [0, 2, 3]);
  const lines = unknownBlockProblems(rules, known);
  assert.equal(lines.length, 3);
  assert.equal(lines[0], 'block rule unet.down_block.1=1,0: unet.down_block.1 matches no block of the inputs: use a block name the charts show; the nearest are unet.down_blocks.1, unet.down_blocks, unet.down_blocks.0');
  assert.match(lines[1], /^block rule unet\.middle_block:direct: .*the nearest are unet\.mid_block/);
  assert.equal(lines[2], 'block rule unet.down_blocks.5-9=1,1: unet.down_blocks.5-9 matches no block of the inputs: unet.down_blocks has blocks 0–2');
  assert.deepEqual(nearestBlockNames('transformer.singel_blocks', ['transformer.single_blocks.0', 'transformer.double_blocks.0'], 1), ['transformer.single_blocks']);
  assert.deepEqual(unknownBlockProblems([parseBlockRule('unet:skip')], known), []);
});

test('a layer named in two namings takes the rules written in either (a Flux block in native and diffusers names)', () => {
  const names = ['transformer.double_blocks.7.img_attn.qkv', 'transformer.transformer_blocks.7.attn.to_q'];
  const rules = [parseBlockRule('transformer.transformer_blocks.7=1,0'), parseBlockRule('transformer.double_blocks.7:direct')];
  assert.deepEqual(blockSettingsFor(names, rules, 2), { weights: [1, 0], method: 'direct' });
  // One name alone takes only the rule written in its own naming.
  assert.deepEqual(blockSettingsFor(names[0], rules, 2), { weights: [1, 1], method: 'direct' });
});
