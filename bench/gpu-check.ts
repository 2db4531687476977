/**
 * The device check (docs/benchmarks.md "On a GPU"): one prepared run on a machine with a GPU. Reports the backends
 * auto finds, matmul rates, whether webgpu and wasm agree on ZipLoRA coefficients, and the SDXL merge
 * benchmark through the built CLI on each backend that works there. Bundled to dist/gpu-check.js by
 * `node esbuild.js --gpu-check`; run as `node dist/gpu-check.js DUMP.json OUT_DIR`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BackendName, selectBackend } from '../src/core/merge/backends';
import { MergeSummary } from '../src/core/merge/request';
import { matmulRate } from './support';
import { SolverName } from '../src/core/merge/types';
import { LayerResult } from '../src/core/merge/ziplora-solver';
import { solveAll } from '../test/support/solve-all';
import { layersFromKohyaDump, randomLayerValues, readShapeDumpFile, seededRandom, writeLora } from '../test/support/lora-generators';
import { randomDelta } from '../test/support/random-lora';

const results: Record<string, unknown> = { machine: `${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}` };


async function coefficients(backend: BackendName, solver: SolverName = 'adam'): Promise<LayerResult[]> {
  const layers = [0, 1, 2, 3, 4, 5].map((i) => ({ inputs: [randomDelta(640 + (i % 2) * 640, 320, 8, 10 + i, 0.5), randomDelta(640 + (i % 2) * 640, 320, 8, 20 + i, 0.5)] }));
  const out: LayerResult[] = [];
  await solveAll(await selectBackend(backend), layers, { solver, steps: 30, lambda: 0.01, learningRate: 0.01 }, { onLayerSolved: (i, r) => (out[i] = r) });
  return out;
}

function merge(cli: string, files: string[], output: string, extra: string[]): MergeSummary {
  rmSync(output, { force: true });
  rmSync(output.replace(/\.safetensors$/, '.ziplora.safetensors'), { force: true });
  const json = execFileSync(process.execPath, [cli, 'merge', ...files, '-o', output, '--json', ...extra], { maxBuffer: 1 << 28, encoding: 'utf8' });
  const summary = JSON.parse(json) as MergeSummary & { layerReports?: unknown };
  delete summary.layerReports;
  return summary;
}

async function main(dump: string, outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const save = () => writeFileSync(path.join(outDir, 'gpu-check.json'), JSON.stringify(results, null, 2));
  const step = async (name: string, run: () => Promise<unknown> | unknown) => {
    const start = Date.now();
    try {
      results[name] = await run();
    } catch (error) {
      results[name] = { error: (error as Error).message.split('\n').slice(0, 3).join(' | ') };
    }
    console.log(`${name} (${((Date.now() - start) / 1000).toFixed(1)} s):`, JSON.stringify(results[name]));
    save();
  };
  await step('auto', async () => {
    const b = await selectBackend('auto');
    return { backend: b.name, device: b.device, skipped: b.skipped };
  });
  await step('matmul GFLOP/s', async () => ({
    webgpu1024: await matmulRate('webgpu', 1024).then((r) => r.gflops, (e) => (e as Error).message),
    webgpu4096: await matmulRate('webgpu', 4096).then((r) => r.gflops, (e) => (e as Error).message),
    wasm1024: (await matmulRate('wasm', 1024)).gflops,
  }));
  for (const solver of ['adam', 'newton'] as const) {
    await step(`webgpu vs wasm coefficients (6 layers, ${solver === 'adam' ? '30 Adam steps' : 'Newton, default stop'})`, async () => {
      const [gpu, cpu] = [await coefficients('webgpu', solver), await coefficients('wasm', solver)];
      let maxDiff = 0;
      let maxLossDiff = 0;
      gpu.forEach((r, i) => {
        r.m.forEach((m, k) => m.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - cpu[i].m[k][j])))));
        r.errors.forEach((e, k) => (maxLossDiff = Math.max(maxLossDiff, Math.abs(e - cpu[i].errors[k]))));
      });
      return { maxCoefficientDifference: maxDiff, maxErrorDifference: maxLossDiff };
    });
  }
  const files = [path.join(os.tmpdir(), 'sdxl-a.safetensors'), path.join(os.tmpdir(), 'sdxl-b.safetensors')];
  await step('generate SDXL pair', async () => {
    const layers = layersFromKohyaDump(readShapeDumpFile(dump));
    for (const [i, file] of files.entries()) {
      rmSync(file, { force: true });
      const random = seededRandom(1000 + i);
      await writeLora(file, layers, (l) => randomLayerValues(l, random, 16), { scheme: 'kohya', family: 'sdxl', dtype: 'BF16', metadata: { ss_base_model_version: 'sdxl_base_v1-0' } });
    }
    return { layers: layers.length };
  });
  const cli = path.join(__dirname, 'cli.js');
  const output = path.join(os.tmpdir(), 'sdxl-merged.safetensors');
  // GPU_CHECK_THREADS=1: only the CPU compute threads, 1 against every core (docs/architecture.md §5, "Every core").
  if (process.env.GPU_CHECK_THREADS === '1') {
    const cores = String(os.availableParallelism());
    for (const threads of ['1', cores]) await step(`direct merge (wasm), ${threads} threads`, () => merge(cli, files, output, ['--method', 'direct', '--backend', 'wasm', '--threads', threads]));
    for (const threads of ['1', cores]) await step(`ziplora wasm, ${threads} threads`, () => merge(cli, files, output, ['--backend', 'wasm', '--threads', threads]));
    return;
  }
  await step('direct merge (webgpu)', () => merge(cli, files, output, ['--method', 'direct', '--backend', 'webgpu']));
  // GPU_CHECK_QUICK=1 leaves out the CPU runs (for a second look at the GPU within the device time).
  const quick = process.env.GPU_CHECK_QUICK === '1';
  if (!quick) await step('direct merge (wasm)', () => merge(cli, files, output, ['--method', 'direct', '--backend', 'wasm']));
  for (const run of quick ? [1, 2] : [1, 2, 3]) await step(`ziplora webgpu 100 steps, run ${run}`, () => merge(cli, files, output, ['--backend', 'webgpu']));
  if (!quick) await step('ziplora wasm', () => merge(cli, files, output, ['--backend', 'wasm']));
}

void main(process.argv[2], process.argv[3]);
