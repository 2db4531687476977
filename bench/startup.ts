/**
 * Start-up of the bundles in dist/ (build them first: `node esbuild.js`), median of runs:
 *   worker   — fork dist/worker.js until its first message (the answer to an empty merge request: the
 *              bundle's load and the request check, no backend);
 *   merge    — fork dist/worker.js with a 5-layer SD1.5 merge on wasm (one thread) until `done`: adds the compute
 *              thread's start, the tfjs engine and the WebAssembly backend.
 * `node --import tsx bench/startup.ts [--runs N] [--dist DIR]…` (DIR defaults to ./dist). With several --dist
 * (e.g. a build of the previous commit), each run times every DIR in turn, so that they share the machine's load.
 */
import { fork, Serializable } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mergeRequest, writePair } from '../test/support/merge-fixtures';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index > 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const RUNS = Number(option('--runs', '11'));
const DISTS = process.argv.flatMap((arg, i) => (arg === '--dist' && process.argv[i + 1] ? [path.resolve(process.argv[i + 1])] : []));
if (DISTS.length === 0) DISTS.push(path.resolve('dist'));

/** Milliseconds from fork of WORKER to its first message of `until` (any message when undefined). */
function timeWorker(WORKER: string, message: Serializable, until?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.on('message', (reply: { type: string; message?: string }) => {
      if (reply.type === 'error' && until) reject(new Error(`worker: ${reply.message}`));
      if (until && reply.type !== until) return;
      const elapsed = performance.now() - started;
      child.kill();
      resolve(elapsed);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before answering: ${stderr.trim()}`)));
    child.send(message);
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ziplora-startup-'));
  try {
    const { content, style } = await writePair(dir);
    const times = DISTS.map(() => ({ worker: [] as number[], merge: [] as number[] }));
    for (let run = 0; run < RUNS; run++) {
      for (const [d, dist] of DISTS.entries()) {
        const worker = path.join(dist, 'worker.js');
        times[d].worker.push(await timeWorker(worker, { type: 'merge', request: {} }));
        const output = path.join(dir, `out-${run}-${d}.safetensors`);
        times[d].merge.push(await timeWorker(worker, { type: 'merge', request: mergeRequest(content, style, output, { threads: 1 }) }, 'done'));
      }
    }
    const format = (values: number[]) => `median ${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`;
    console.log(`${RUNS} runs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);
    for (const [d, dist] of DISTS.entries()) {
      console.log(`${dist}/worker.js: start-up to first message ${format(times[d].worker)}; 5-layer merge on wasm, fork to done ${format(times[d].merge)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
