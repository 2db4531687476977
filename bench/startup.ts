/**
 * Start-up of the bundles in dist/ (build them first: `node esbuild.js`), median of runs:
 *   worker   — fork dist/worker.js until its first message (the answer to an empty merge request: the
 *              bundle's load and the request check, no backend);
 *   merge    — fork dist/worker.js with a 5-layer SD1.5 merge on wasm (one thread) until `done`: adds the compute
 *              thread's start, the tfjs engine and the WebAssembly backend.
 * `node --import tsx bench/startup.ts [--runs N] [--dist DIR]` (DIR defaults to ./dist).
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
const WORKER = path.resolve(option('--dist', 'dist'), 'worker.js');

/** Milliseconds from fork to the first message of `type` (any type when undefined). */
function timeWorker(message: Serializable, until?: string): Promise<number> {
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
    const worker: number[] = [];
    const merge: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      worker.push(await timeWorker({ type: 'merge', request: {} }));
      const output = path.join(dir, `out-${run}.safetensors`);
      merge.push(await timeWorker({ type: 'merge', request: mergeRequest(content, style, output, { threads: 1 }) }, 'done'));
    }
    const format = (values: number[]) => `median ${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`;
    console.log(`${WORKER}, ${RUNS} runs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);
    console.log(`worker start-up to first message: ${format(worker)}`);
    console.log(`5-layer merge on wasm, fork to done: ${format(merge)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
