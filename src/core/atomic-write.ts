/** Writing a text file so that readers see the old file or the whole new one, never half of it. */
import { promises as fs } from 'node:fs';
import { asFileError } from './safetensors/errors';
import { claimTemporary, releaseTemporary, tracked } from './temporary-files';

export async function writeTextAtomically(target: string, text: string): Promise<void> {
  const temporary = claimTemporary(target);
  try {
    await tracked(fs.writeFile(temporary, text, { flag: 'wx' }));
    await fs.rename(temporary, target);
    releaseTemporary(temporary);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    releaseTemporary(temporary);
    throw asFileError(error, target);
  }
}
