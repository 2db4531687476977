/** The part of yauzl 3 (the zip reader @vscode/vsce uses, and test/support/vsix.ts with it) that the tests call. */
declare module 'yauzl' {
  import { Readable } from 'node:stream';
  export interface Entry {
    readonly fileName: string;
    readonly uncompressedSize: number;
  }
  export interface ZipFile {
    eachEntry(): AsyncIterable<Entry>;
    openReadStreamPromise(entry: Entry): Promise<Readable>;
    close(): void;
  }
  export function openPromise(path: string, options?: { lazyEntries?: boolean; autoClose?: boolean }): Promise<ZipFile>;
}
