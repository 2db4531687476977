/**
 * The Flux benchmark pair: a kohya sd-scripts Flux.1-dev LoRA at rank 16 (BFL names, fused qkv and
 * linear1, 304 modules) and a diffusers one at rank 32 (split q/k/v and proj_mlp, 495 modules), with the real
 * names and shapes of test/fixtures/flux1-dev-*.layout.json and seeded random BF16 weights, generated into .bench/.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { GeneratedScheme, layersFromLayout, randomLayerValues, seededRandom, writeLora } from '../test/support/lora-generators';
import { BENCH_DIR } from './support';

const SIDES: ReadonlyArray<{ file: string; layout: string; rank: number; scheme: GeneratedScheme; metadata: Record<string, string>; seed: number }> = [
  {
    file: 'flux-kohya-r16.safetensors',
    layout: 'flux1-dev-transformer.layout.json',
    rank: 16,
    scheme: 'kohya',
    metadata: { ss_base_model_version: 'flux1', ss_network_module: 'networks.lora_flux', ss_network_dim: '16', ss_network_alpha: '16' },
    seed: 2000,
  },
  { file: 'flux-diffusers-r32.safetensors', layout: 'flux1-dev-diffusers-transformer.layout.json', rank: 32, scheme: 'peft', metadata: {}, seed: 2001 },
];

/** Generates the pair under .bench/ once (about 0.3 GB in all) and returns [kohya, diffusers]. */
export async function ensureFluxPair(): Promise<[string, string]> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const files: string[] = [];
  for (const side of SIDES) {
    const file = path.join(BENCH_DIR, side.file);
    if (!existsSync(file)) {
      const random = seededRandom(side.seed);
      const layers = layersFromLayout(side.layout, side.rank);
      // kohya alpha = rank (scale 1), as the metadata says; the diffusers file has no alpha (scale 1).
      await writeLora(file, layers, (layer) => randomLayerValues(layer, random, side.rank), { scheme: side.scheme, family: 'flux', dtype: 'BF16', metadata: side.metadata });
      console.log(`generated ${side.file}: ${layers.length} layers, ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
    }
    files.push(file);
  }
  return files as [string, string];
}
