/**
 * Flux benchmark (docs/benchmarks.md "Flux pair"): `ziplora compare` and `ziplora merge` (defaults, and --method direct) of
 * a kohya rank-16 and a diffusers rank-32 Flux.1-dev LoRA (bench/flux-pair.ts), through the built CLI in a fresh
 * process per run. Times are wall clock; peak RSS is the CLI process's (and, for merge, the worker's, which
 * does the work). Usage: node --import tsx bench/flux.ts [--runs N] [--ziplora-runs N] [--steps N] [--backend B]
 * (--runs for compare and the direct merge, default 3; --ziplora-runs for the default merge, default 1: it takes
 * over a minute on a CPU). --steps applies with `--solver adam` only, as in the CLI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MergeSummary } from '../src/core/merge/request';
import { ensureFluxPair } from './flux-pair';
import { BENCH_DIR, machine, median } from './support';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const RSS_PRELOAD = path.join(__dirname, 'rss-on-exit.cjs');

interface Run {
  readonly seconds: number;
  readonly cliRssMiB: number;
  readonly stdout: string;
}

function runCli(args: string[]): Run {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['-r', RSS_PRELOAD, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`ziplora ${args[0]} failed (exit ${result.status}): ${result.stderr.trim()}`);
  const rss = /ZIPLORA_BENCH_MAX_RSS_KIB=(\d+)/.exec(result.stderr);
  return { seconds, cliRssMiB: rss ? Number(rss[1]) / 1024 : NaN, stdout: result.stdout };
}

const list = (values: number[], digits = 1) => values.map((v) => v.toFixed(digits)).join(', ');

export async function benchFlux(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string' }, 'ziplora-runs': { type: 'string' }, steps: { type: 'string' }, backend: { type: 'string' } } });
  const runs = Number(values.runs ?? 3);
  const ziploraRuns = Number(values['ziplora-runs'] ?? 1);
  const backend = values.backend ? ['--backend', values.backend] : [];
  const steps = values.steps ? ['--steps', values.steps] : [];
  const files = await ensureFluxPair();
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  console.log(`\n## Flux.1-dev pair: kohya rank 16 (304 layers, fused qkv / linear1) + diffusers rank 32 (495 layers, split) — ${machine()}`);
  console.log('\n| command | runs | median | runs (s) | peak RSS, CLI | peak RSS, worker |');
  console.log('|---|---|---|---|---|---|');

  const compare = Array.from({ length: runs }, () => runCli(['compare', ...files, '--json']));
  const pairing = (JSON.parse(compare[0].stdout) as { pairing: { paired: number; fusedSplit: unknown[] } }).pairing;
  console.log(`| compare (${pairing.paired} pairs, ${pairing.fusedSplit.length} fused ↔ split) | ${runs} | ${median(compare.map((r) => r.seconds)).toFixed(2)} s | ${list(compare.map((r) => r.seconds), 2)} | ${Math.max(...compare.map((r) => r.cliRssMiB)).toFixed(0)} MiB | — |`);

  const merges = [[values.steps ? `merge --steps ${values.steps} (ZipLoRA)` : 'merge (defaults: ZipLoRA, Newton solver)', [...steps, ...backend], ziploraRuns], ['merge --method direct', ['--method', 'direct', ...backend], runs]] as const;
  for (const [label, args, count] of merges) {
    const results: Array<Run & { summary: MergeSummary }> = [];
    for (let i = 0; i < count; i++) {
      const output = path.join(BENCH_DIR, 'flux-merged.safetensors');
      rmSync(output, { force: true });
      rmSync(output.replace(/\.safetensors$/, '.ziplora.safetensors'), { force: true });
      const run = runCli(['merge', ...files, '-o', output, '--json', ...args]);
      results.push({ ...run, summary: JSON.parse(run.stdout) as MergeSummary });
    }
    const s = results[0].summary;
    console.log(
      `| ${label} (${s.layers.merged} merged, ${s.backend} on ${s.device}, ${s.threads} compute thread${s.threads === 1 ? '' : 's'}${s.method === 'ziplora' ? `, optimisation median ${median(results.map((r) => r.summary.optimiseSeconds)).toFixed(1)} s` : ''}) | ${count} | ${median(results.map((r) => r.seconds)).toFixed(1)} s | ${list(results.map((r) => r.seconds))} | ${Math.max(...results.map((r) => r.cliRssMiB)).toFixed(0)} MiB | ${Math.max(...results.map((r) => r.summary.peakRssMiB)).toFixed(0)} MiB |`,
    );
  }
}

if (require.main === module) void benchFlux();
