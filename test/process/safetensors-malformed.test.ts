/**
 * Every malformed input must be refused with a SafetensorsError that names the file and says what is wrong,
 * never a crash, a hang or a silently partial result.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/core/safetensors/checkpoint';
import { SafetensorsError } from '../../src/core/safetensors/errors';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { fileFromHeader, rawFile, REAL_FIXTURES, tempDir, writeTemp } from '../support/build-safetensors';
import { hasFixtures, skipOrFailInCi } from '../support/requirements';

const dir = tempDir();
const f32 = (n: number) => new Uint8Array(4 * n);
const tensor = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

interface Case {
  readonly name: string;
  readonly bytes: Uint8Array | string;
  readonly error: RegExp;
}

const cases: Case[] = [
  { name: 'empty file', bytes: new Uint8Array(0), error: /empty/ },
  { name: 'fewer than 8 bytes', bytes: new Uint8Array([1, 0, 0]), error: /only 3 bytes.*8-byte header length/ },
  { name: 'header length past the end', bytes: rawFile('{}', new Uint8Array(0), 4096n), error: /4096 bytes, past the end/ },
  { name: 'header over 100 MB', bytes: rawFile('{}', new Uint8Array(0), 200_000_000n), error: /more than the 100 MB limit/ },
  { name: 'header length near 2^64', bytes: rawFile('{}', new Uint8Array(0), 0xffffffffffffffffn), error: /100 MB limit/ },
  { name: 'header length zero', bytes: rawFile('', new Uint8Array(0)), error: /too short for a JSON header/ },
  { name: 'header not UTF-8', bytes: rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), error: /not valid UTF-8/ },
  { name: 'header not JSON', bytes: rawFile('{"a": '), error: /not valid JSON/ },
  { name: 'header a JSON array', bytes: rawFile('[1,2]'), error: /not an object \(it is an array\)/ },
  { name: 'header JSON null', bytes: rawFile('null'), error: /not an object \(it is null\)/ },
  { name: 'header a JSON string', bytes: rawFile('"x"   '), error: /not an object \(it is a string\)/ },
  { name: 'tensor entry not an object', bytes: fileFromHeader({ w: 5 }), error: /"w" must be an object/ },
  { name: 'missing dtype', bytes: fileFromHeader({ w: { shape: [1], data_offsets: [0, 4] } }, f32(1)), error: /"w" has no dtype/ },
  { name: 'dtype not a string', bytes: fileFromHeader({ w: tensor(7 as never, [1], [0, 4]) }, f32(1)), error: /dtype that is not a string/ },
  { name: 'unknown dtype', bytes: fileFromHeader({ w: tensor('F12', [1], [0, 4]) }, f32(1)), error: /unknown dtype "F12"/ },
  { name: 'missing shape', bytes: fileFromHeader({ w: { dtype: 'F32', data_offsets: [0, 4] } }, f32(1)), error: /"w" has no shape/ },
  { name: 'shape not an array', bytes: fileFromHeader({ w: tensor('F32', '1', [0, 4]) }, f32(1)), error: /shape that is not an array/ },
  { name: 'negative dimension', bytes: fileFromHeader({ w: tensor('F32', [-1], [0, 4]) }, f32(1)), error: /non-negative integers/ },
  { name: 'non-integer dimension', bytes: fileFromHeader({ w: tensor('F32', [1.5], [0, 4]) }, f32(1)), error: /non-negative integers/ },
  { name: 'dimension a string', bytes: fileFromHeader({ w: tensor('F32', ['2'], [0, 8]) }, f32(2)), error: /non-negative integers/ },
  { name: 'missing data_offsets', bytes: fileFromHeader({ w: { dtype: 'F32', shape: [1] } }, f32(1)), error: /no data_offsets/ },
  { name: 'data_offsets with one number', bytes: fileFromHeader({ w: tensor('F32', [1], [4]) }, f32(1)), error: /expected \[begin, end\]/ },
  { name: 'negative offset', bytes: fileFromHeader({ w: tensor('F32', [1], [-4, 0]) }, f32(1)), error: /expected \[begin, end\]/ },
  { name: 'offsets out of order', bytes: fileFromHeader({ w: tensor('F32', [1], [4, 0]) }, f32(1)), error: /out of order/ },
  { name: 'offsets overlapping', bytes: fileFromHeader({ a: tensor('F32', [2], [0, 8]), b: tensor('F32', [2], [4, 12]) }, f32(3)), error: /overlaps tensor "a"/ },
  { name: 'gap between tensors', bytes: fileFromHeader({ a: tensor('F32', [1], [0, 4]), b: tensor('F32', [1], [8, 12]) }, f32(3)), error: /gap of 4 bytes.*"b"/ },
  { name: 'data not starting at 0', bytes: fileFromHeader({ a: tensor('F32', [1], [4, 8]) }, f32(2)), error: /gap of 4 bytes/ },
  { name: 'offsets past the end', bytes: fileFromHeader({ a: tensor('F32', [4], [0, 16]) }, f32(2)), error: /past the end of the file/ },
  { name: 'size not matching shape×dtype', bytes: fileFromHeader({ a: tensor('F16', [3], [0, 8]) }, f32(2)), error: /8 bytes of data but shape \[3\] × F16 needs 6/ },
  { name: 'trailing bytes', bytes: fileFromHeader({ a: tensor('F32', [1], [0, 4]) }, f32(3)), error: /8 trailing bytes/ },
  { name: 'trailing bytes with no tensors', bytes: fileFromHeader({}, f32(1)), error: /4 trailing bytes/ },
  { name: 'duplicate tensor names', bytes: rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2)), error: /duplicate tensor name "a"/ },
  { name: 'duplicate names written with escapes', bytes: rawFile('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"\\u0061":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'), error: /duplicate tensor name "a"/ },
  { name: 'metadata value a number', bytes: fileFromHeader({ __metadata__: { epochs: 10 } }), error: /"epochs" is a number/ },
  { name: 'metadata value an object', bytes: fileFromHeader({ __metadata__: { cfg: { a: 1 } } }), error: /"cfg" is an object, but the format allows only strings/ },
  { name: 'metadata not an object', bytes: fileFromHeader({ __metadata__: ['a'] }), error: /__metadata__ must be an object/ },
  { name: 'Git LFS pointer', bytes: 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 123456\n', error: /Git LFS pointer.*git lfs pull/ },
  { name: 'sub-byte dtype not filling bytes', bytes: fileFromHeader({ a: tensor('F4', [3], [0, 2]) }, new Uint8Array(2)), error: /do not fill whole bytes/ },
  { name: 'element count overflowing', bytes: fileFromHeader({ a: tensor('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }, f32(1)), error: /too many elements/ },
  { name: 'a text file', bytes: 'hello, this is not a tensor file at all', error: /100 MB limit|past the end/ },
];

test('at least 30 distinct malformed inputs are covered', () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
});

for (const c of cases) {
  test(`refuses: ${c.name}`, async () => {
    const file = writeTemp(dir, `${c.name.replace(/\W+/g, '_')}.safetensors`, c.bytes);
    await assert.rejects(SafetensorsFile.open(file), (error: unknown) => {
      assert.ok(error instanceof SafetensorsError, `not a SafetensorsError: ${String(error)}`);
      assert.match(error.message, c.error);
      assert.ok(error.message.startsWith(file), `message does not start with the file name: ${error.message}`);
      return true;
    });
  });
}

test('refuses a directory, saying what to open instead', async () => {
  const folder = path.join(dir, 'a-folder.safetensors');
  mkdirSync(folder);
  await assert.rejects(SafetensorsFile.open(folder), /is a directory.*index\.json/);
});

test('refuses a missing file', async () => {
  await assert.rejects(SafetensorsFile.open(path.join(dir, 'nope.safetensors')), /nope\.safetensors: no such file/);
});

test('refuses a dangling symbolic link as a missing file', async () => {
  const link = path.join(dir, 'dangling.safetensors');
  symlinkSync(path.join(dir, 'gone'), link);
  await assert.rejects(SafetensorsFile.open(link), /no such file/);
});

test('refuses a file without read permission', async (t) => {
  const file = writeTemp(dir, 'secret.safetensors', fileFromHeader({}));
  chmodSync(file, 0o000);
  chmodSync(dir, 0o755);
  if (process.getuid?.() !== 0) {
    await assert.rejects(SafetensorsFile.open(file), /permission denied/);
    return;
  }
  // root reads everything, so check as the unprivileged user "nobody" in a child process.
  const opener = path.join(__dirname, '../support/open-safetensors.ts');
  const result = spawnSync(process.execPath, ['--import', 'tsx', opener, file], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: path.resolve(__dirname, '../..') });
  if (result.error || /Cannot find (module|package)|EACCES/.test(result.stderr)) {
    skipOrFailInCi(t, `cannot run a child process as user nobody here: ${result.error?.message ?? result.stderr.split('\n')[0]}`);
    return;
  }
  assert.match(result.stdout, /secret\.safetensors: permission denied/);
});

test('refuses a shard index whose shard lacks a listed tensor', async () => {
  const folder = path.join(dir, 'sharded-bad');
  mkdirSync(folder);
  writeFileSync(path.join(folder, 'model-00001-of-00001.safetensors'), fileFromHeader({ a: tensor('F32', [1], [0, 4]) }, f32(1)));
  const index = path.join(folder, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: { total_size: 8 }, weight_map: { a: 'model-00001-of-00001.safetensors', b: 'model-00001-of-00001.safetensors' } }));
  await assert.rejects(openCheckpoint(index), /puts "b" in model-00001-of-00001\.safetensors, but that shard has no such tensor/);
});

test('refuses a shard index without weight_map, and one pointing outside its folder', async () => {
  const index = writeTemp(dir, 'x.safetensors.index.json', JSON.stringify({ metadata: {} }));
  await assert.rejects(openCheckpoint(index), /no "weight_map" object/);
  const escaping = writeTemp(dir, 'y.safetensors.index.json', JSON.stringify({ weight_map: { a: '../../etc/passwd' } }));
  await assert.rejects(openCheckpoint(escaping), /not to a file name beside the index/);
});

test('refuses the real malformed file from safetensors-cpp', async (t) => {
  const file = path.join(REAL_FIXTURES, 'syoyo-safetensors-cpp__safetensors_abuse_attempt_1.safetensors');
  if (!hasFixtures(t, file)) return;
  await assert.rejects(SafetensorsFile.open(file), /1000 bytes, past the end of the 88-byte file/);
});
