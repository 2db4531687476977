/** The block names of a recipe's inputs, read once per version of each file (by size and modification time). */
import { stat } from 'node:fs/promises';
import { loraBlockNames } from '../core/merge/recipe-file';

export class BlockNameCache {
  private readonly entries = new Map<string, { stamp: string; names: Promise<string[]> }>();

  async get(file: string): Promise<string[]> {
    const stats = await stat(file);
    const stamp = `${stats.size}:${stats.mtimeMs}`;
    const cached = this.entries.get(file);
    if (cached?.stamp === stamp) return cached.names;
    const names = loraBlockNames(file);
    this.entries.set(file, { stamp, names });
    // A failed read is not kept: the next check tries again (the file may be mid-copy).
    names.catch(() => this.entries.get(file)?.names === names && this.entries.delete(file));
    return names;
  }
}
