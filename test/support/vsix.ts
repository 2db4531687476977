/** Reads a .vsix (a zip) with yauzl: its file names, one file's text, or every file into a folder. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { openPromise } from 'yauzl';

/** Every file of the package, name → bytes (a .vsix is a few MB; the largest file is Dawn's binary). */
export async function readVsix(file: string): Promise<Map<string, Buffer>> {
  const zip = await openPromise(file, { lazyEntries: true, autoClose: false });
  const files = new Map<string, Buffer>();
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      files.set(entry.fileName, await buffer(await zip.openReadStreamPromise(entry)));
    }
  } finally {
    zip.close();
  }
  return files;
}

/** Writes a package's files under `dir` as they are named in it (extension/…), and returns `dir`/extension. */
export function extractVsix(files: ReadonlyMap<string, Buffer>, dir: string): string {
  for (const [name, bytes] of files) {
    const target = path.join(dir, name);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, bytes);
  }
  return path.join(dir, 'extension');
}
