/** The repeated-key check of a header: the compact form skips the scan, and every repeat is still found. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHeader } from '../../src/core/safetensors/header';
import { findDuplicateTopLevelKey, isCompactForm } from '../../src/core/safetensors/json-keys';

const tensor = (begin: number) => `{"dtype":"F32","shape":[2],"data_offsets":[${begin},${begin + 8}]}`;
const bytes = (text: string) => new TextEncoder().encode(text);
/** parseHeader on a header text whose tensors hold `dataBytes` bytes. */
const parse = (text: string, dataBytes: number) => parseHeader('test.safetensors', bytes(text), 8 + bytes(text).byteLength + dataBytes);

test('a compact header without repeated keys takes the fast path and parses', () => {
  const compact = `{"__metadata__":{"format":"pt"},"a":${tensor(0)},"b":${tensor(8)}}`;
  for (const text of [compact, `${compact}     `]) {
    assert.equal(isCompactForm(text, JSON.parse(text)), true);
    assert.deepEqual(parse(text, 16).tensors.map((t) => t.name), ['a', 'b']);
  }
  // Padding other than spaces, or JSON.stringify's output differing from the text, takes the scan instead.
  for (const text of [`${compact}\n`, ` ${compact}`, `{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, `{"1":${tensor(0)},"0":${tensor(8)}}`, `{"\\u0061":${tensor(0)}}`]) {
    assert.equal(isCompactForm(text, JSON.parse(text)), false, text);
    assert.equal(findDuplicateTopLevelKey(text), undefined);
  }
});

test('a compact header with a repeated key is not the compact form of its parse, and the repeat is named', () => {
  const text = `{"a":${tensor(0)},"b":${tensor(8)},"a":${tensor(0)}}  `;
  assert.equal(isCompactForm(text, JSON.parse(text)), false);
  assert.throws(() => parse(text, 16), /duplicate tensor name "a"/);
  // Repeated with the same value, or spelled with an escape, a repeat is still found.
  assert.throws(() => parse(`{"a":${tensor(0)},"a":${tensor(0)}}`, 8), /duplicate tensor name "a"/);
  assert.throws(() => parse(`{"\\u0061":${tensor(0)},"a":${tensor(0)}}`, 8), /duplicate tensor name "a"/);
});

test('a spaced header is scanned: a repeat is named, and without one it parses', () => {
  const repeated = `{\n  "a": ${tensor(0)},\n  "b": ${tensor(8)},\n  "a": ${tensor(0)}\n}`;
  assert.equal(isCompactForm(repeated, JSON.parse(repeated)), false);
  assert.throws(() => parse(repeated, 16), /duplicate tensor name "a"/);
  const spaced = `{ "a": ${tensor(0)}, "b": ${tensor(8)} }`;
  assert.deepEqual(parse(spaced, 16).tensors.map((t) => t.name), ['a', 'b']);
});
