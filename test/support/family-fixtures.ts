/** Generated LoRA files of the transformer families, opened for a test: shared by the family tests. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { BaseModelFamily } from '../../src/core/lora/naming';
import { openLora, OpenLora } from '../../src/core/lora/open-lora';
import { PairingInput, PairingReport } from '../../src/core/lora/pairing';
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

/** Two generated files of a family and what pairing them must give. */
export interface PairingCase {
  readonly name: string;
  readonly first: { readonly layers: LayerSpec[]; readonly scheme: GeneratedScheme };
  readonly second: { readonly layers: LayerSpec[]; readonly scheme: GeneratedScheme };
  readonly family: string;
  /** How many pairs, and how many of them fused ↔ split. */
  readonly paired: number;
  readonly fusedSplit: number;
  /** How many pairs join swapped-halves twins (0 when absent). */
  readonly halvesSwapped?: number;
  readonly onlyInFirst?: string[];
  readonly onlyInSecond?: string[];
  /** A tensor of the first file and the module it must pair with in the second. */
  readonly example: [firstTensor: string, secondModule: string];
}

/** The pairing report has exactly the case's pairs, and its example tensor pairs with the module named. */
export function assertPairing(report: PairingReport, c: PairingCase) {
  assert.equal(report.incompatibility, undefined);
  assert.deepEqual(report.refused.map((r) => r.module), []);
  assert.deepEqual(report.onlyInFirst.map((l) => l.module).sort(), c.onlyInFirst ?? []);
  assert.deepEqual(report.onlyInSecond.map((l) => l.module).sort(), c.onlyInSecond ?? []);
  assert.equal(report.paired.length, c.paired, 'a fused module and its split parts count as one pair');
  assert.equal(report.paired.filter((p) => p.split).length, c.fusedSplit);
  assert.equal(report.paired.filter((p) => p.halvesSwapped).length, c.halvesSwapped ?? 0);
  const pair = report.paired.find((p) => p.first.down.name === c.example[0]);
  assert.ok(pair, `no pair for ${c.example[0]}`);
  const other = pair.second.parts ? pair.second.parts.map((p) => p.layer.module) : [pair.second.module];
  assert.ok(other.includes(c.example[1]), `${c.example[0]} paired with ${other.join(', ')}, not ${c.example[1]}`);
}
