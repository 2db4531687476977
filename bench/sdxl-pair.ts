/** The benchmark pair: two SDXL kohya rank-32 LoRAs (986 modules, real names and shapes, random bf16 weights). */
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
  if (!existsSync(path.join(SHAPE_DUMPS, DUMP))) return undefined;
  mkdirSync(BENCH_DIR, { recursive: true });
  const slice = layers !== undefined ? `-first${layers}` : '';
  const files: [string, string] = [path.join(BENCH_DIR, `sdxl-kohya-r32${slice}-a.safetensors`), path.join(BENCH_DIR, `sdxl-kohya-r32${slice}-b.safetensors`)];
  for (const [i, file] of files.entries()) {
    if (!existsSync(file)) {
      await generate(file, 1000 + i, layers);
      console.log(`generated ${path.basename(file)} (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB)`);
    }
  }
  return files;
}
