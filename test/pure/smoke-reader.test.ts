import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { writeSafetensors } from '../support/write-safetensors';
import { tempDir } from '../support/build-safetensors';
import path from 'node:path';

test('a written F32 tensor reads back with the same values', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'a.safetensors');
  const values = new Float32Array([1, -2.5, 3e-8, 65504]);
  await writeSafetensors(file, [{ name: 'w', dtype: 'F32', shape: [2, 2], data: new Uint8Array(values.buffer) }], { k: 'v' });
  const opened = await SafetensorsFile.open(file);
  assert.deepEqual(Array.from(await opened.readF32('w')), Array.from(values));
  assert.deepEqual(opened.metadata, { k: 'v' });
  await opened.close();
});
