/** Writing a text file so that readers see the old file or the whole new one, never half of it. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { asFileError } from './safetensors/errors';

export async function writeTextAtomically(target: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  try {
    await fs.writeFile(temporary, text, { flag: 'wx' });
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw asFileError(error, target);
  }
}
