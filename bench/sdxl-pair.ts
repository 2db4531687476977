/**
 * The benchmark inputs: SDXL kohya rank-32 LoRAs (986 modules, real names and shapes, random bf16 weights), two for
 * the two-way merge and a third for the N-way one.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { layersFromKohyaDump, randomLayerValues, readShapeDump, seededRandom, writeLora } from '../test/support/lora-generators';
import { BENCH_DIR, SHAPE_DUMPS } from './support';

const DUMP = 'sdxl_kohya_lora.invokeai_dump.json';

async function generate(file: string, seed: number, count?: number): Promise<void> {
  const layers = layersFromKohyaDump(readShapeDump(DUMP)).slice(0, count);
  const random = seededRandom(seed);
  await writeLora(file, layers, (layer) => randomLayerValues(layer, random, 16), {
    scheme: 'kohya',
    family: 'sdxl',
    dtype: 'BF16',
    metadata: { ss_base_model_version: 'sdxl_base_v1-0', ss_network_dim: '32', ss_network_alpha: '16' },
  });
}

/**
 * Generates the pair under .bench/ once (or a pair of its first `layers` layers, for quick checks); undefined
 * when the shapes dump is not beside the checkout.
 */
export async function ensureSdxlPair(layers?: number): Promise<[string, string] | undefined> {
  const files = await ensureSdxlInputs(2, layers);
  return files && [files[0], files[1]];
}

/** `count` inputs (a, b, c, …; the pair's first two), generated under .bench/ once each. */
export async function ensureSdxlInputs(count: number, layers?: number): Promise<string[] | undefined> {
  if (!existsSync(path.join(SHAPE_DUMPS, DUMP))) return undefined;
  mkdirSync(BENCH_DIR, { recursive: true });
  const slice = layers !== undefined ? `-first${layers}` : '';
  const files = Array.from({ length: count }, (_, i) => path.join(BENCH_DIR, `sdxl-kohya-r32${slice}-${'abcdefgh'[i]}.safetensors`));
  for (const [i, file] of files.entries()) {
    if (!existsSync(file)) {
      await generate(file, 1000 + i, layers);
      console.log(`generated ${path.basename(file)} (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB)`);
    }
  }
  return files;
}
