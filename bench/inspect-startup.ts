/**
 * `ziplora inspect` as a whole process: the built CLI on the header of a 10 GB checkpoint (the SDXL base UNet's
 * 1,680 names and shapes in F32, a sparse file) against a file of one tensor, so that what is measured is the
 * start-up plus the header's work. Target: the 10 GB header within 1.2× the one-tensor file (medians). The two
 * files alternate run by run, so a machine's drift hits both alike. Usage:
 *   node --import tsx bench/inspect-startup.ts [--runs 15]
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchDir, machine, median, readShapeDump, writeSparseCheckpoint } from './support';

const ROOT = path.resolve(__dirname, '..');

/** Milliseconds of one `node dist/cli.js inspect FILE`, start to exit. */
function inspectOnce(file: string): number {
  const start = performance.now();
  execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'inspect', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  return performance.now() - start;
}

const runsText = (times: number[]) => `median ${median(times).toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(', ')})`;

export async function benchInspectStartup(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string', default: '15' } }, strict: true });
  const unet = readShapeDump('sdxl_base_unet.invokeai_dump.json');
  if (!unet) {
    console.log('inspect start-up benchmark skipped: ../shared/fixtures/shapes/sdxl_base_unet.invokeai_dump.json not found');
    return;
  }
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  const dir = benchDir();
  const big = path.join(dir, 'sdxl-unet-f32.safetensors');
  const bigBytes = writeSparseCheckpoint(big, unet.map((t) => ({ ...t, dtype: 'F32' as const })));
  const small = path.join(dir, 'one-tensor.safetensors');
  writeSparseCheckpoint(small, [{ name: 'w', shape: [4], dtype: 'F32' }]);
  const runs = Number(values.runs);
  inspectOnce(small); // warm the page cache and the bundle's compile cache alike
  inspectOnce(big);
  const times: Record<'big' | 'small', number[]> = { big: [], small: [] };
  for (let i = 0; i < runs; i++) {
    times.small.push(inspectOnce(small));
    times.big.push(inspectOnce(big));
  }
  console.log(`\n## ziplora inspect, whole process (built CLI) — ${machine()}`);
  console.log('target: the 10 GB header ≤ 1.2× the one-tensor file\n');
  console.log('| file | time | vs one tensor |');
  console.log('|---|---|---|');
  console.log(`| one tensor (F32 [4]) | ${runsText(times.small)} | — |`);
  console.log(`| SDXL base UNet, 1,680 tensors, F32, ${(bigBytes / 1e9).toFixed(2)} GB | ${runsText(times.big)} | ${(median(times.big) / median(times.small)).toFixed(2)}× |`);
}

if (require.main === module) void benchInspectStartup();
