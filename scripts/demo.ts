/**
 * The main job (`npm run demo`): generate a planted content/style pair with SD1.5 attention names and
 * shapes, merge it with ZipLoRA through the built command-line tool on the best backend present, and show
 * where the merged LoRA and its sidecar are, with the per-block summary.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writePlantedPair } from '../test/support/planted';

async function main(): Promise<void> {
  const dir = path.resolve(__dirname, '../.demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { content, style, layers } = await writePlantedPair(dir);
  const output = path.join(dir, 'planted-merged.safetensors');
  const cli = path.resolve(__dirname, '../dist/cli.js');
  console.log(`Generated a planted pair: ${layers.length} SD1.5 attention layers, rank 8 each\n  content ${content}\n  style   ${style}\n`);
  console.log(`$ ziplora merge ${path.relative(process.cwd(), content)} ${path.relative(process.cwd(), style)} -o ${path.relative(process.cwd(), output)}\n`);
  execFileSync(process.execPath, [cli, 'merge', content, style, '-o', output], { stdio: 'inherit' });
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
