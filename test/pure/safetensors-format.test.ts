/** Valid files: every dtype, edge-case layouts, write→read round trips, sharded checkpoints, real files. */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/core/safetensors/checkpoint';
import { ALL_DTYPES, byteLengthOf, DType, isDecodable } from '../../src/core/safetensors/dtypes';
import { SafetensorsFile, withSafetensors } from '../../src/core/safetensors/reader';
import { writeSafetensors } from '../support/write-safetensors';
import { fileFromHeader, rawFile, REAL_FIXTURES, tempDir, writeTemp } from '../support/build-safetensors';
import { hasFixtures } from '../support/requirements';

const dir = tempDir();

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

test('every dtype of the spec round-trips through the writer and the reader', async () => {
  const file = path.join(dir, 'all-dtypes.safetensors');
  const shapes: Record<DType, number[]> = Object.fromEntries(ALL_DTYPES.map((d) => [d, d === 'F4' ? [2, 4] : d === 'F6_E2M3' || d === 'F6_E3M2' ? [4] : [3, 2]])) as Record<DType, number[]>;
  const tensors = ALL_DTYPES.map((dtype, i) => {
    const count = shapes[dtype].reduce((a, b) => a * b, 1);
    return { name: `t_${dtype}`, dtype, shape: shapes[dtype], data: pattern(byteLengthOf(dtype, count)!, i) };
  });
  await writeSafetensors(file, tensors, { note: 'all dtypes', 'ünïcode key': 'välue' });
  await withSafetensors(file, async (read) => {
    assert.equal(read.tensors.length, ALL_DTYPES.length);
    assert.equal((8 + read.header.headerBytes) % 8, 0, 'written header must be padded to 8 bytes');
    assert.deepEqual(read.metadata, { note: 'all dtypes', 'ünïcode key': 'välue' });
    for (const t of tensors) {
      const info = read.tensor(t.name);
      assert.equal(info.dtype, t.dtype);
      assert.deepEqual(info.shape, t.shape);
      assert.deepEqual(await read.readBytes(info), t.data);
    }
  });
});

test('newer dtypes are listed but refused for computation with a clear message', async () => {
  const file = writeTemp(dir, 'f4.safetensors', fileFromHeader({ a: { dtype: 'F4', shape: [4], data_offsets: [0, 2] } }, new Uint8Array(2)));
  await withSafetensors(file, async (read) => {
    assert.equal(read.tensor('a').dtype, 'F4');
    assert.equal(isDecodable('F4'), false);
    await assert.rejects(read.readF32('a'), /"a" has dtype F4, which this tool cannot decode/);
  });
});

test('0-dim tensors, zero-size dimensions and the empty header are valid', async () => {
  const scalar = new Float32Array([42.5]);
  const file = writeTemp(
    dir,
    'edges.safetensors',
    fileFromHeader(
      {
        scalar: { dtype: 'F32', shape: [], data_offsets: [0, 4] },
        empty: { dtype: 'F16', shape: [0, 3], data_offsets: [4, 4] },
        empty_too: { dtype: 'I64', shape: [5, 0], data_offsets: [4, 4] },
      },
      new Uint8Array(scalar.buffer),
    ),
  );
  await withSafetensors(file, async (read) => {
    assert.deepEqual(Array.from(await read.readF32('scalar')), [42.5]);
    assert.equal(read.tensor('scalar').elementCount, 1);
    assert.equal((await read.readF32('empty')).length, 0);
    assert.equal(read.tensor('empty_too').elementCount, 0);
  });
  const empty = writeTemp(dir, 'empty-header.safetensors', rawFile('{}'));
  await withSafetensors(empty, async (read) => assert.equal(read.tensors.length, 0));
});

test('unaligned header lengths and leading whitespace are accepted, data is found after them', async () => {
  const values = new Float32Array([1.5, -2, 3.25]);
  for (const extra of ['', ' ', '   ', '      ']) {
    const header = `${extra}{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`;
    const file = writeTemp(dir, `unaligned-${extra.length}.safetensors`, rawFile(header, new Uint8Array(values.buffer)));
    await withSafetensors(file, async (read) => {
      assert.equal(read.header.dataStart, 8 + Buffer.byteLength(header));
      assert.deepEqual(Array.from(await read.readF32('x')), Array.from(values));
    });
  }
});

test('the reader reads only the header when opening (lazy): a huge sparse file opens at once', async () => {
  const file = path.join(dir, 'sparse.safetensors');
  const gib = 2 ** 30;
  const bytes = fileFromHeader({ big: { dtype: 'U8', shape: [gib], data_offsets: [0, gib] } });
  writeFileSync(file, bytes);
  await truncate(file, bytes.byteLength + gib);
  const before = process.memoryUsage().rss;
  const started = performance.now();
  await withSafetensors(file, async (read) => assert.equal(read.tensor('big').elementCount, gib));
  assert.ok(process.memoryUsage().rss - before < 64 << 20, 'opening must not read the data');
  assert.ok(performance.now() - started < 2000);
});

test('the writer leaves no file behind when producing a tensor fails', async () => {
  const folder = path.join(dir, 'atomic');
  mkdirSync(folder);
  const target = path.join(folder, 'out.safetensors');
  await assert.rejects(
    writeSafetensors(target, [
      { name: 'a', dtype: 'F32', shape: [1], data: new Uint8Array(4) },
      { name: 'b', dtype: 'F32', shape: [1], data: () => Promise.reject(new Error('cancelled by the user')) },
    ]),
    /cancelled by the user/,
  );
  assert.deepEqual(readdirSync(folder), []);
});

test('the writer refuses wrong data lengths, duplicate names, existing files and inputs', async () => {
  const folder = path.join(dir, 'refusals');
  mkdirSync(folder);
  const target = path.join(folder, 'out.safetensors');
  await assert.rejects(writeSafetensors(target, [{ name: 'a', dtype: 'F32', shape: [2], data: new Uint8Array(4) }]), /"a" has 4 bytes but its shape and dtype need 8/);
  await assert.rejects(
    writeSafetensors(target, [
      { name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array(1) },
      { name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array(1) },
    ]),
    /duplicate tensor name "a"/,
  );
  assert.deepEqual(readdirSync(folder), []);
  const input = writeTemp(folder, 'input.safetensors', rawFile('{}      '));
  const before = readFileSync(input);
  await assert.rejects(writeSafetensors(input, [], {}, { protect: [input], overwrite: true }), /is one of the input files/);
  await assert.rejects(writeSafetensors(input, []), /already exists.*--force/);
  assert.deepEqual(readFileSync(input), before, 'the input must be untouched');
  await assert.rejects(writeSafetensors(path.join(folder, 'no-such-dir', 'x.safetensors'), []), /does not exist/);
  await writeSafetensors(input + '.copy', [], {}, {});
  await writeSafetensors(input + '.copy', [{ name: 'z', dtype: 'U8', shape: [1], data: new Uint8Array([7]) }], {}, { overwrite: true });
  await withSafetensors(input + '.copy', async (read) => assert.deepEqual(await read.readBytes('z'), new Uint8Array([7])));
});

test('a sharded checkpoint opens as one set of tensors through its index', async () => {
  const folder = path.join(dir, 'sharded');
  mkdirSync(folder);
  const one = new Float32Array([1, 2]);
  const two = new Float32Array([3, 4, 5]);
  await writeSafetensors(path.join(folder, 'model-00001-of-00002.safetensors'), [{ name: 'a', dtype: 'F32', shape: [2], data: new Uint8Array(one.buffer) }]);
  await writeSafetensors(path.join(folder, 'model-00002-of-00002.safetensors'), [{ name: 'b', dtype: 'F32', shape: [3], data: new Uint8Array(two.buffer) }]);
  const index = path.join(folder, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: { total_size: 20 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
  const checkpoint = await openCheckpoint(index);
  try {
    assert.equal(checkpoint.sharded, true);
    assert.deepEqual(checkpoint.tensors.map((t) => t.info.name), ['a', 'b']);
    assert.equal(checkpoint.files.length, 2);
    assert.equal(checkpoint.metadata.total_size, '20');
    const b = checkpoint.tensors[1];
    assert.deepEqual(Array.from(await b.file.readF32(b.info)), [3, 4, 5]);
    assert.equal(checkpoint.bytes, checkpoint.files.reduce((s, f) => s + f.fileBytes, 0));
  } finally {
    await checkpoint.close();
  }
});

test('chunked reads cover a tensor exactly, whatever the chunk size', async () => {
  const data = pattern(1000, 3);
  const file = path.join(dir, 'chunks.safetensors');
  await writeSafetensors(file, [{ name: 'x', dtype: 'U8', shape: [1000], data }]);
  await withSafetensors(file, async (read) => {
    for (const chunk of [8, 24, 1000, 4096]) {
      const parts: number[] = [];
      for await (const part of read.readChunks(read.tensor('x'), chunk)) parts.push(...part);
      assert.deepEqual(Uint8Array.from(parts), data);
    }
  });
});

// Tensor counts and dtypes of the real files, read independently with Python's json/struct.
const REAL_FILES: Record<string, { tensors: number; dtypes: Partial<Record<DType, number>>; metadata: boolean }> = {
  'FluxML-SafeTensors.jl__non_sharded__model.safetensors': { tensors: 36, dtypes: { BF16: 3, BOOL: 3, F16: 3, F32: 3, F64: 3, F8_E4M3: 3, F8_E5M2: 3, I16: 3, I32: 3, I64: 3, I8: 3, U8: 3 }, metadata: false },
  'FluxML-SafeTensors.jl__non_sharded__model.with_metadata.safetensors': { tensors: 36, dtypes: { BF16: 3, BOOL: 3, F16: 3, F32: 3, F64: 3, F8_E4M3: 3, F8_E5M2: 3, I16: 3, I32: 3, I64: 3, I8: 3, U8: 3 }, metadata: true },
  'KohakuBlueleaf-LyCORIS__smart_falcon_4_lokr.safetensors': { tensors: 1750, dtypes: { F16: 1750 }, metadata: true },
  'catundchat-stable-diffusion-v1.5-lora__pytorch_lora_weights.safetensors': { tensors: 256, dtypes: { F32: 256 }, metadata: true },
  'cloneofsimo-lora__lora_disney.safetensors': { tensors: 386, dtypes: { F32: 386 }, metadata: true },
  'huggingface-diffusers__sd-pokemon-model-lora__pytorch_lora_weights.safetensors': { tensors: 256, dtypes: { F32: 256 }, metadata: true },
  'huggingface-peft__monteclora-roberta-mrpc__checkpoint-230__adapter_model.safetensors': { tensors: 52, dtypes: { F32: 52 }, metadata: true },
  'huggingface-safetensors__samples__overall.safetensors': { tensors: 9, dtypes: { F16: 1, F32: 1, F64: 1, I16: 1, I32: 1, I8: 1, U16: 1, U32: 1, U8: 1 }, metadata: true },
  'jkrukowski-swift-safetensors__data.safetensors': { tensors: 1, dtypes: { I32: 1 }, metadata: false },
  'ml-explore-mlx-examples__adapters.safetensors': { tensors: 16, dtypes: { F32: 16 }, metadata: false },
  'ostris-ai-toolkit__stable_diffusion_sd1_ldm_base.safetensors': { tensors: 0, dtypes: {}, metadata: false },
  'ostris-ai-toolkit__stable_diffusion_sdxl_ldm_base.safetensors': { tensors: 3, dtypes: { F16: 3 }, metadata: false },
};

test('every real file is read with the expected tensor count and dtypes, and all its values decode', async (t) => {
  if (!hasFixtures(t, REAL_FIXTURES)) return;
  const present = readdirSync(REAL_FIXTURES).filter((f) => f.endsWith('.safetensors') && !f.includes('abuse'));
  assert.deepEqual(present.sort(), Object.keys(REAL_FILES).sort(), 'the list of real files changed: update the expectations');
  for (const [name, expected] of Object.entries(REAL_FILES)) {
    await withSafetensors(path.join(REAL_FIXTURES, name), async (read) => {
      assert.equal(read.tensors.length, expected.tensors, name);
      const counts: Partial<Record<DType, number>> = {};
      for (const tensor of read.tensors) {
        counts[tensor.dtype] = (counts[tensor.dtype] ?? 0) + 1;
        const values = await read.readF32(tensor);
        assert.equal(values.length, tensor.elementCount, `${name} ${tensor.name}`);
      }
      assert.deepEqual(counts, expected.dtypes, name);
      assert.equal(Object.keys(read.metadata).length > 0, expected.metadata, name);
    });
  }
});

test('real files with known values: the unaligned swift file and numpy-written samples', async (t) => {
  const swiftFile = path.join(REAL_FIXTURES, 'jkrukowski-swift-safetensors__data.safetensors');
  const samples = path.join(REAL_FIXTURES, 'huggingface-safetensors__samples__overall.safetensors');
  if (!hasFixtures(t, swiftFile, samples)) return;
  const swift = await SafetensorsFile.open(swiftFile);
  assert.equal(swift.header.headerBytes, 60);
  assert.equal(swift.header.dataStart, 68);
  await swift.close();
  await withSafetensors(samples, async (read) => {
    // numpy wrote -3…2 as every type; unsigned types hold the same bytes read as unsigned.
    for (const name of ['b', 'd', 'e', 'f', 'h', 'i']) assert.deepEqual(Array.from(await read.readF32(name)), [-3, -2, -1, 0, 1, 2], name);
    assert.deepEqual(Array.from(await read.readF32('B')), [253, 254, 255, 0, 1, 2]);
    assert.deepEqual(Array.from(await read.readF32('H')), [65533, 65534, 65535, 0, 1, 2]);
  });
});
