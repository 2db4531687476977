/**
 * One output, one writer, with real concurrent processes: two merges into the same name, started from the CLI
 * or from the worker client as the extension starts it, in both orders, with and without --force and with and
 * without an existing output. The first merge holds its claim while it stalls in the hashing phase
 * (src/worker/test-phase-delay.ts); the second must be refused at once, naming it, and must not touch its
 * files. Then the race of the bug report, 20 times: afterwards every merge reported as written exists whole,
 * its sidecar belongs to it, and nothing else is left in the folder.
 *
 * The CLI runs from a bundle built here from the sources (as dist/ is built), because through tsx each start
 * costs seconds and 40 of them would not fit the time this file may take.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, test } from 'node:test';
import { buildSync } from 'esbuild';
import { MergeRequest, sidecarPathFor } from '../../src/core/merge/request';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { startMerge } from '../../src/worker/client';
import { tempDir } from '../support/build-safetensors';
import { phaseDelayEnv, waitForExit, withPhaseDelay } from '../support/interrupt';
import { mergeRequest, writePair } from '../support/merge-fixtures';
import { PROJECT_ROOT } from '../support/run-cli';

const root = tempDir('output-claim-');
const inputs = path.join(root, 'inputs');
mkdirSync(inputs);
const pair = writePair(inputs);

const bundle = path.join(root, 'bundle');
buildSync({
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  external: ['@tensorflow/*', 'webgpu'],
  // As esbuild.js: jsonc-parser's UMD `main` cannot be bundled (the recipe checks the CLI imports use it).
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  entryPoints: {
    cli: path.join(PROJECT_ROOT, 'src/cli/main.ts'),
    worker: path.join(PROJECT_ROOT, 'src/worker/main.ts'),
    'compute-thread': path.join(PROJECT_ROOT, 'src/worker/compute-thread.ts'),
  },
  outdir: bundle,
});
// The tfjs packages are loaded at run time from node_modules beside the bundle, as from dist/.
symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(bundle, 'node_modules'), 'dir');

interface Finished {
  readonly ok: boolean;
  /** The CLI's stderr, or the client's error message. */
  readonly error: string;
}

interface Started {
  /** The process that holds the claim: the CLI, or this test process for the worker client. */
  readonly holder: number;
  readonly done: Promise<Finished>;
}

/** What a merge in these tests is: distinguished by its content weight, which its recipe records. */
interface MergeSpec {
  readonly via: 'cli' | 'worker';
  readonly output: string;
  readonly weight: number;
  readonly force: boolean;
  /** Stall in the hashing phase this long, holding the claim; `marker` is written when it gets there. */
  readonly stall?: { readonly ms: number; readonly marker: string };
}

function startCli(spec: MergeSpec, content: string, style: string): Started {
  const args = ['merge', content, style, '-o', spec.output, '--method', 'direct', '--content-weight', String(spec.weight), '--backend', 'wasm', '--threads', '1', '--dtype', 'F32'];
  if (spec.force) args.push('--force');
  const env = spec.stall ? phaseDelayEnv('hashing', spec.stall.ms, spec.stall.marker) : process.env;
  const cli = spawn(process.execPath, [path.join(bundle, 'cli.js'), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve) =>
    cli.on('exit', (code) =>
      resolve({
        ok: code === 0 && stdout.startsWith('Merged LoRA'),
        error: stderr.trim(),
      }),
    ),
  );
  return { holder: cli.pid!, done };
}

function startWorker(spec: MergeSpec, content: string, style: string): Started {
  const request: MergeRequest = mergeRequest(content, style, spec.output, {
    method: 'direct',
    inputs: [{ path: content, weight: spec.weight }, { path: style, weight: 1 }],
    overwrite: spec.force,
    threads: 1,
  });
  const begin = () =>
    startMerge(
      request,
      spec.stall
        ? {
            onProgress: (p) => p.phase === 'hashing' && !existsSync(spec.stall!.marker) && writeFileSync(spec.stall!.marker, ''),
          }
        : {},
    );
  const running = spec.stall ? withPhaseDelay('hashing', spec.stall.ms, begin) : begin();
  const done = running.result.then(
    () => ({ ok: true, error: '' }),
    (error: Error) => ({ ok: false, error: error.message }),
  );
  return { holder: process.pid, done };
}

async function start(spec: MergeSpec): Promise<Started> {
  const { content, style } = await pair;
  return spec.via === 'cli' ? startCli(spec, content, style) : startWorker(spec, content, style);
}

async function until(what: string, probe: () => boolean, limitMs = 90_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The merged file read in full (every tensor's bytes), and its recipe; the sidecar's metadata. */
async function readOutput(output: string): Promise<{
  recipe: string;
  sidecarRecipe: string;
  sidecarFile: string;
  weight: number;
}> {
  const recipe = await withSafetensors(output, async (read) => {
    for (const tensor of read.tensors) await read.readF32(tensor);
    return read.metadata.ziplora_recipe;
  });
  const sidecar = await withSafetensors(sidecarPathFor(output), async (read) => read.metadata);
  return {
    recipe,
    sidecarRecipe: sidecar.ziplora_recipe,
    sidecarFile: sidecar.ziplora_merged_file,
    weight: (JSON.parse(recipe) as { inputs: { weight: number }[] }).inputs[0].weight,
  };
}

/** Bytes no merge writes: an earlier output that a refused merge must leave exactly as it was. */
function earlierOutput(output: string): Buffer {
  const bytes = Buffer.from(`an earlier output ${path.basename(output)}`);
  writeFileSync(output, bytes);
  writeFileSync(sidecarPathFor(output), bytes);
  return bytes;
}

const cases: {
  first: 'cli' | 'worker';
  second: 'cli' | 'worker';
  existing: boolean;
  secondForce: boolean;
}[] = [];
for (const [first, second] of [
  ['cli', 'cli'],
  ['cli', 'worker'],
  ['worker', 'cli'],
] as const) {
  for (const existing of [false, true]) for (const secondForce of [false, true]) cases.push({ first, second, existing, secondForce });
}

let caseNumber = 0;
// A few at a time: each case waits mostly on its first merge's stall, long enough for a slow start of the second.
describe('two merges into one name', { concurrency: 4 }, () => {
  for (const c of cases) {
    const n = ++caseNumber;
    const name = `${c.first} merge running, then ${c.second} merge${c.secondForce ? ' --force' : ''} into the same name${c.existing ? ' (an output exists; the first has --force)' : ''}: the second is refused at once, naming the first`;
    it(name, { timeout: 180_000 }, async () => {
      const dir = path.join(root, `case-${n}`);
      mkdirSync(dir);
      const output = path.join(dir, 'same.safetensors');
      if (c.existing) earlierOutput(output);
      const marker = path.join(dir, 'first-is-hashing');
      const first = await start({
        via: c.first,
        output,
        weight: 0.25,
        force: c.existing,
        stall: { ms: 10_000, marker },
      });
      await until('the first merge to reach hashing', () => existsSync(marker));
      const second = await (
        await start({
          via: c.second,
          output,
          weight: 0.75,
          force: c.secondForce,
        })
      ).done;
      assert.equal(second.ok, false, 'the second merge wrote over a running merge');
      assert.match(second.error, new RegExp(`another merge is writing this file: a direct merge of .* into same\\.safetensors \\(pid ${first.holder} on `));
      const firstDone = await first.done;
      assert.equal(firstDone.ok, true, firstDone.error);
      const written = await readOutput(output);
      assert.equal(written.weight, 0.25, 'the output is not the first merge');
      assert.equal(written.sidecarRecipe, written.recipe, "the sidecar's recipe is not its merged file's");
      assert.equal(written.sidecarFile, 'same.safetensors');
      assert.deepEqual(readdirSync(dir).sort(), ['first-is-hashing', 'same.safetensors', 'same.ziplora.safetensors']);
    });
  }
});

interface RaceTally {
  written: number;
  lost: number;
  orphanedSidecars: number;
  partials: number;
  locks: number;
  strays: string[];
}

/** One round of the bug report's race: two CLI merges into one name, no --force, the second `delayMs` later. */
async function raceRound(dir: string, delayMs: number, tally: RaceTally): Promise<void> {
  mkdirSync(dir);
  const output = path.join(dir, 'same.safetensors');
  const a = await start({ via: 'cli', output, weight: 0.25, force: false });
  await new Promise((r) => setTimeout(r, delayMs));
  const b = await start({ via: 'cli', output, weight: 0.75, force: false });
  const results = [await a.done, await b.done];
  const reported = results.map((r, i) => (r.ok ? [0.25, 0.75][i] : undefined)).filter((w) => w !== undefined);
  for (const r of results) if (!r.ok) assert.match(r.error, /another merge is writing this file|already exists/, r.error);
  const files = readdirSync(dir);
  tally.partials += files.filter((f) => f.endsWith('.partial')).length;
  tally.locks += files.filter((f) => f.endsWith('.lock')).length;
  tally.strays.push(...files.filter((f) => !['same.safetensors', 'same.ziplora.safetensors'].includes(f) && !f.endsWith('.partial') && !f.endsWith('.lock')));
  const hasOutput = files.includes('same.safetensors');
  const hasSidecar = files.includes('same.ziplora.safetensors');
  // A merged file that cannot be read in full counts as lost, like one that is missing.
  const present = hasOutput && hasSidecar ? await readOutput(output).catch(() => undefined) : undefined;
  for (const weight of reported) if (present?.weight !== weight) tally.lost++;
  if (present && reported.includes(present.weight)) tally.written++;
  if (hasSidecar && (!present || present.sidecarRecipe !== present.recipe)) tally.orphanedSidecars++;
}

test(
  'the race of the bug report, 20 times (two CLI merges into one name, the second 0–400 ms later): 0 lost outputs, 0 orphaned sidecars, 0 .partial files',
  { timeout: 240_000 },
  async () => {
    const tally: RaceTally = {
      written: 0,
      lost: 0,
      orphanedSidecars: 0,
      partials: 0,
      locks: 0,
      strays: [],
    };
    const started = Date.now();
    // Ten rounds at a time, each in its own folder; the delays cover "both running" and "one after the other".
    for (let batch = 0; batch < 2; batch++) {
      const rounds = Array.from({ length: 10 }, (_, i) => batch * 10 + i);
      await Promise.all(rounds.map((round) => raceRound(path.join(root, `race-${round}`), (round * 97) % 400, tally)));
    }
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(
      {
        lost: tally.lost,
        orphanedSidecars: tally.orphanedSidecars,
        partials: tally.partials,
        locks: tally.locks,
        strays: tally.strays,
      },
      { lost: 0, orphanedSidecars: 0, partials: 0, locks: 0, strays: [] },
      `after 20 rounds (${seconds.toFixed(1)} s): ${JSON.stringify(tally)}`,
    );
    assert.equal(tally.written, 20, `every round must write exactly one merge: ${JSON.stringify(tally)}`);
    console.log(`race: 20 rounds in ${seconds.toFixed(1)} s, ${JSON.stringify(tally)}`);
  },
);

test('a claim left by a merge whose process was killed is stale: the next merge takes it over', { timeout: 60_000 }, async () => {
  const dir = path.join(root, 'stale');
  mkdirSync(dir);
  const output = path.join(dir, 'same.safetensors');
  const marker = path.join(dir, 'first-is-hashing');
  const first = await start({
    via: 'cli',
    output,
    weight: 0.25,
    force: false,
    stall: { ms: 3000, marker },
  });
  await until('the first merge to reach hashing', () => existsSync(marker));
  assert.ok(statSync(`${output}.lock`).isFile());
  // Both killed outright (the worker, stalled, cannot see its parent go and release the claim for it).
  const worker = Number(readFileSync(marker, 'utf8'));
  process.kill(first.holder, 'SIGKILL');
  process.kill(worker, 'SIGKILL');
  await first.done;
  await waitForExit(worker, 30_000);
  assert.ok(existsSync(`${output}.lock`), 'a lock must be left behind for this case');
  const second = await (await start({ via: 'cli', output, weight: 0.75, force: false })).done;
  assert.equal(second.ok, true, second.error);
  assert.equal((await readOutput(output)).weight, 0.75);
  assert.deepEqual(readdirSync(dir).sort(), ['first-is-hashing', 'same.safetensors', 'same.ziplora.safetensors']);
});
