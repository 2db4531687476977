/**
 * Inputs that change while a merge reads them (a trainer saving its next epoch over the file): each input's
 * identity — device, inode, size and modification time in nanoseconds — is taken before it is opened and
 * compared after the last byte is read and before anything is put in place. Equal identities mean the layers
 * and the recorded sha256 come from the same bytes; any difference fails the merge, naming the file.
 */
import { promises as fs } from 'node:fs';
import { SafetensorsError } from './safetensors/errors';

interface Identity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
}

async function identityOf(file: string): Promise<Identity | undefined> {
  try {
    const { dev, ino, size, mtimeNs } = await fs.stat(file, { bigint: true });
    return { dev, ino, size, mtimeNs };
  } catch {
    // Missing or unreadable: opening it reports that in its own words.
    return undefined;
  }
}

const same = (a: Identity | undefined, b: Identity | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs);

export class InputChangedError extends SafetensorsError {
  constructor(file: string) {
    super(file, 'changed while it was being read (its size, modification time or identity differs from when the merge started); nothing was written', 'wait until it is saved in full, then merge again');
    this.name = 'InputChangedError';
  }
}

export class InputWatch {
  private constructor(private readonly before: ReadonlyMap<string, Identity | undefined>) {}

  /** Takes each input's identity; call before the inputs are opened. */
  static async start(files: readonly string[]): Promise<InputWatch> {
    return new InputWatch(new Map(await Promise.all(files.map(async (file) => [file, await identityOf(file)] as const))));
  }

  /** The first input whose identity is not what it was at the start, if any. */
  async changed(): Promise<string | undefined> {
    for (const [file, identity] of this.before) if (!same(identity, await identityOf(file))) return file;
    return undefined;
  }

  /** After the last read and before anything is put in place: throws InputChangedError, after `discard`, on a change. */
  async checkUnchanged(discard: () => Promise<void>): Promise<void> {
    const file = await this.changed();
    if (file === undefined) return;
    await discard();
    throw new InputChangedError(file);
  }

  /**
   * What a failed merge reports: a change of an input explains failures that reading changing bytes causes
   * (a short read, a garbled header), so it replaces them — but never a cancel (`cancelled`).
   */
  async explain(error: unknown, cancelled = false): Promise<unknown> {
    if (error instanceof InputChangedError || cancelled) return error;
    const file = await this.changed();
    return file === undefined ? error : new InputChangedError(file);
  }
}
