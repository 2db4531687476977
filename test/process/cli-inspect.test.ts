/** `ziplora inspect` as a user runs it: output formats, exit statuses and one-line errors. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { encodeFromF32 } from '../../src/core/safetensors/float';
import { writeSafetensors } from '../support/write-safetensors';
import { tempDir, writeTemp } from '../support/build-safetensors';
import { runCli } from '../support/run-cli';

const dir = tempDir();
const lora = path.join(dir, 'small.safetensors');

test.before(async () => {
  const down = new Float32Array(4 * 8).map((_, i) => Math.sin(i));
  const up = new Float32Array(16 * 4).map((_, i) => Math.cos(i) / 10);
  await writeSafetensors(
    lora,
    [
      { name: 'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight', dtype: 'F16', shape: [4, 8], data: encodeFromF32('F16', down) },
      { name: 'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight', dtype: 'F16', shape: [16, 4], data: encodeFromF32('F16', up) },
      { name: 'lora_unet_mid_block_attentions_0_proj_in.alpha', dtype: 'F32', shape: [], data: new Uint8Array(new Float32Array([4]).buffer) },
    ],
    { ss_network_dim: '4', ss_tag_frequency: JSON.stringify({ subject: { sks: 12 } }) },
  );
});

test('--json prints one object with file, bytes, headerBytes, metadata and tensors', () => {
  const result = runCli(['inspect', lora, '--json']);
  assert.equal(result.status, 0, result.stderr);
  const parsed = JSON.parse(result.stdout);
  assert.equal(parsed.file, lora);
  assert.equal(typeof parsed.bytes, 'number');
  assert.equal((8 + parsed.headerBytes) % 8, 0);
  assert.equal(parsed.metadata.ss_network_dim, '4');
  assert.deepEqual(parsed.tensors.map((t: { name: string }) => t.name).sort(), [
    'lora_unet_mid_block_attentions_0_proj_in.alpha',
    'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight',
    'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight',
  ]);
  const down = parsed.tensors.find((t: { name: string }) => t.name.endsWith('lora_down.weight'));
  assert.deepEqual(down.shape, [4, 8]);
  assert.equal(down.dtype, 'F16');
  assert.equal(down.dataOffsets[1] - down.dataOffsets[0], 64);
  assert.equal(down.stats, undefined, 'no statistics without --stats');
});

test('--json --stats adds statistics to every tensor', () => {
  const parsed = JSON.parse(runCli(['inspect', lora, '--json', '--stats']).stdout);
  const alpha = parsed.tensors.find((t: { name: string }) => t.name.endsWith('.alpha'));
  assert.equal(alpha.stats.min, 4);
  assert.equal(alpha.stats.count, 1);
  for (const t of parsed.tensors) assert.equal(t.stats.histogram.counts.reduce((a: number, b: number) => a + b, 0), t.stats.finiteCount);
});

test('the readable form shows the summary, metadata and the tensor table', () => {
  const result = runCli(['inspect', lora]);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /Tensors\s+3/);
  assert.match(result.stdout, /Parameters\s+97/);
  assert.match(result.stdout, /ss_network_dim: 4/);
  assert.match(result.stdout, /lora_unet_mid_block_attentions_0_proj_in\.lora_up\.weight\s+F16\s+\[16, 4\]/);
});

test('--tensor shows one tensor with its statistics and histogram', () => {
  const result = runCli(['inspect', lora, '--tensor', 'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Tensors\s+1/);
  assert.match(result.stdout, /Histogram of lora_unet_mid_block_attentions_0_proj_in\.lora_down\.weight/);
  assert.doesNotMatch(result.stdout, /lora_up/);
});

test('bad input: exit 1 with one line naming the file and the problem, no stack trace', () => {
  const broken = writeTemp(dir, 'broken.safetensors', 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 9\n');
  for (const [args, pattern] of [
    [['inspect', broken], /broken\.safetensors: this is a Git LFS pointer file.*git lfs pull/],
    [['inspect', path.join(dir, 'missing.safetensors')], /missing\.safetensors: no such file/],
    [['inspect', lora, '--tensor', 'nope'], /small\.safetensors: has no tensor named "nope"/],
  ] as const) {
    const result = runCli([...args]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.trim().split('\n').length, 1, `more than one line: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.equal(result.stdout, '');
  }
});

test('wrong usage: exit 2', () => {
  for (const args of [[], ['inspect'], ['inspect', 'a', 'b'], ['inspect', lora, '--bogus'], ['frobnicate']]) {
    const result = runCli(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
  }
  assert.equal(runCli(['--help']).status, 0);
});
