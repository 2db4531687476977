/** Opening a file as a LoRA, for the commands that need one (compare, and later merge). */
import { SafetensorsError } from '../safetensors/errors';
import { SafetensorsFile } from '../safetensors/reader';
import { describeAdapter, LoraDescription } from './recognise';
import { adviceFor } from './tensor-names';

export interface OpenLora {
  readonly file: SafetensorsFile;
  readonly lora: LoraDescription;
}

/**
 * Opens `path` and checks it is a B·A LoRA whose every layer could be normalised. Anything else is a
 * SafetensorsError naming the file and saying what it is instead, or which layer is wrong.
 */
export async function openLora(path: string): Promise<OpenLora> {
  const file = await SafetensorsFile.open(path);
  try {
    const description = await describeAdapter(file);
    if (description.kind === 'not-lora') {
      if (description.adapters.length > 0) {
        throw new SafetensorsError(path, `holds ${description.looksLike}: not a plain B·A LoRA`, adviceFor(description.adapters));
      }
      throw new SafetensorsError(path, `is not a LoRA: it looks like ${description.looksLike}`, 'expected a LoRA');
    }
    if (description.problems.length > 0) {
      const [first] = description.problems;
      const more = description.problems.length > 1 ? ` (and ${description.problems.length - 1} more layer problems; see \`ziplora inspect\`)` : '';
      throw new SafetensorsError(path, `layer "${first.module}" ${first.problem}${more}`);
    }
    return { file, lora: description };
  } catch (error) {
    await file.close();
    throw error;
  }
}
