/**
 * The main job for now: generate a small kohya-style SD1.5 LoRA (real attention layer names and shapes,
 * random weights) and inspect it with the built command-line tool, statistics included.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { encodeFromF32 } from '../src/core/safetensors/float';
import { TensorToWrite, writeSafetensors } from '../src/core/safetensors/writer';

const RANK = 8;
// (kohya module name, in features, out features) of SD1.5 UNet attention projections.
const LAYERS: [string, number, number][] = [
  ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', 320, 320],
  ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k', 768, 320],
  ['lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_v', 1280, 1280],
  ['lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_out_0', 320, 320],
];

function gaussian(count: number, scale: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const next = () => ((state = (state * 1664525 + 1013904223) >>> 0) + 1) / 4294967297;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = scale * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

async function main(): Promise<void> {
  const dir = path.resolve(__dirname, '../.demo');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'demo-sd15-kohya-lora.safetensors');
  const tensors: TensorToWrite[] = LAYERS.flatMap(([name, inFeatures, outFeatures], i) => [
    { name: `${name}.lora_down.weight`, dtype: 'F16' as const, shape: [RANK, inFeatures], data: encodeFromF32('F16', gaussian(RANK * inFeatures, 1 / Math.sqrt(inFeatures), 2 * i + 1)) },
    { name: `${name}.lora_up.weight`, dtype: 'F16' as const, shape: [outFeatures, RANK], data: encodeFromF32('F16', gaussian(outFeatures * RANK, 0.01, 2 * i + 2)) },
    { name: `${name}.alpha`, dtype: 'F16' as const, shape: [], data: encodeFromF32('F16', new Float32Array([RANK / 2])) },
  ]);
  await writeSafetensors(file, tensors, { ss_network_dim: String(RANK), ss_network_alpha: String(RANK / 2), ss_base_model_version: 'sd_v1' }, { overwrite: true });
  console.log(`Generated ${file}\n$ ziplora inspect ${path.relative(process.cwd(), file)} --stats\n`);
  execFileSync(process.execPath, [path.resolve(__dirname, '../dist/cli.js'), 'inspect', file, '--stats'], { stdio: 'inherit' });
}

void main();
