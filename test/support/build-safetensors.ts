/**
 * Builds safetensors bytes for tests, including deliberately broken ones: the header can be given as an
 * object (serialised as-is, so offsets may lie) or as raw text/bytes, and the data as raw bytes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function rawFile(header: string | Uint8Array, data: Uint8Array = new Uint8Array(0), lengthField?: bigint): Uint8Array {
  const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const out = new Uint8Array(8 + headerBytes.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.byteLength);
  return out;
}

export function fileFromHeader(header: Record<string, unknown>, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) json = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  return rawFile(json, data);
}

const temporaryFolders: string[] = [];
process.on('exit', () => {
  for (const dir of temporaryFolders) rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder removed at process exit. */
export function tempDir(prefix = 'ziplora-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temporaryFolders.push(dir);
  return dir;
}

/** A new empty folder per call (`case-1`, `case-2`, …) inside one temporary folder: one per test case. */
export function caseFolders(root = tempDir()): () => string {
  let counter = 0;
  return () => {
    const dir = path.join(root, `case-${++counter}`);
    mkdirSync(dir);
    return dir;
  };
}

export function writeTemp(dir: string, name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** Where the shared real-world fixtures live, if this checkout has them beside it. */
export const REAL_FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/real');
export const SHAPE_DUMPS = path.resolve(__dirname, '../../../shared/fixtures/shapes');
