/** Generated LoRA files of the transformer families, opened for a test: shared by the family tests. */
import path from 'node:path';
import { BaseModelFamily } from '../../src/core/lora/naming';
import { openLora, OpenLora } from '../../src/core/lora/open-lora';
import { PairingInput } from '../../src/core/lora/pairing';
import { tempDir } from './build-safetensors';
import { GeneratedScheme, LayerSpec, randomLayerValues, seededRandom, writeLora } from './lora-generators';

/** Writes the layers in a scheme with seeded random F16 factors; returns the file. */
export async function generate(layers: readonly LayerSpec[], scheme: GeneratedScheme, seed: number, family: BaseModelFamily = 'flux'): Promise<string> {
  const file = path.join(tempDir(), `${scheme}-${seed}.safetensors`);
  const random = seededRandom(seed);
  await writeLora(file, layers, (l) => randomLayerValues(l, random), { scheme, family, dtype: 'F16' });
  return file;
}

export async function opened<T>(file: string, use: (x: OpenLora) => Promise<T>): Promise<T> {
  const x = await openLora(file);
  try {
    return await use(x);
  } finally {
    await x.file.close();
  }
}

export const side = (name: string, x: OpenLora): PairingInput => ({ name, layers: x.lora.layers, baseModel: x.lora.baseModel });

/** kohya module names spelled out here, not by the code under test: the prefix + the module path with `_` for `.`. */
export function withKohyaNames(layers: readonly LayerSpec[], prefixOf: (canonical: string) => [prefix: string, path: string] = (c) => ['lora_unet_', c.replace(/^transformer\./, '')]): LayerSpec[] {
  return layers.map((l) => {
    const [prefix, modulePath] = prefixOf(l.canonical);
    return { ...l, kohyaModule: `${prefix}${modulePath.replace(/\./g, '_')}` };
  });
}
