/**
 * Fuzz of the newer families' layouts (Flux, SD3.5, Wan, Qwen-Image, Z-Image; test/support/layout-fuzz.ts):
 * every mutated pair goes through `inspect` and `compare` (the CLI's own functions, in this process) and
 * `merge` (the merge pipeline with its compute threads, in this process); a sample of cases also through the
 * built CLI in a process of its own. Each run ends in a result or in one line (exit status 1 for the CLI): no
 * crash, no hang, no file left behind in the output folder. Seeded; ZIPLORA_FUZZ_CASES and ZIPLORA_FUZZ_SEED
 * run more cases or other ones (every (family, mutation) pair: ZIPLORA_FUZZ_CASES=190; a longer run:
 * ZIPLORA_FUZZ_CASES=2000).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCompare } from '../../src/cli/compare';
import { runInspect } from '../../src/cli/inspect';
import { runMerge } from '../../src/core/merge/pipeline';
import { MergeSummary } from '../../src/core/merge/request';
import { describeError } from '../../src/core/safetensors/errors';
import { tempDir } from '../support/build-safetensors';
import { crashIn, FuzzCase, fuzzCases, leftBehind, withTimeout, writeCase } from '../support/layout-fuzz';
import { mergeRequest } from '../support/merge-fixtures';
import { PROJECT_ROOT } from '../support/run-cli';

const SEED = Number(process.env.ZIPLORA_FUZZ_SEED ?? 18);
const CASES = Number(process.env.ZIPLORA_FUZZ_CASES ?? 60);
/** Every CLI_EVERY-th case also runs through the built CLI, each command in a process of its own. */
const CLI_EVERY = Number(process.env.ZIPLORA_FUZZ_CLI_EVERY ?? 12);
/** Generous: a loaded machine (or the first case, which compiles the compute thread from source) is slow, a hang is not. */
const CASE_TIMEOUT_MS = Number(process.env.ZIPLORA_FUZZ_CASE_TIMEOUT_MS ?? 60_000);
const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.js');

type Outcome = { ok: true; result: unknown } | { ok: false; message: string };

/** Runs a command in this process: its result, or its one-line refusal; a crash or a hang fails the test. */
async function attempt(c: FuzzCase, command: string, work: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, result: await withTimeout(work(), CASE_TIMEOUT_MS, `${command} of ${c.label}`) };
  } catch (error) {
    const message = describeError(error);
    const crash = crashIn(error, message);
    assert.equal(crash, undefined, `${command} crashed on ${c.label}: ${crash}`);
    return { ok: false, message };
  }
}

async function runInProcess(c: FuzzCase, root: string): Promise<string[]> {
  const dir = path.join(root, `case-${c.label.replace(/\W+/g, '-')}`);
  mkdirSync(dir);
  const { content, style } = await writeCase(dir, c);
  const mutated = c.side === 'content' ? content : style;
  const outcomes: string[] = [];
  const discard = () => undefined;
  for (const [command, work] of [
    ['inspect', () => runInspect([mutated, '--json', '--stats'], discard)],
    ['compare', () => runCompare([content, style, '--json'], discard)],
  ] as const) {
    const outcome = await attempt(c, command, work);
    outcomes.push(`${command}: ${outcome.ok ? 'result' : outcome.message}`);
  }
  const outDir = path.join(dir, 'out');
  mkdirSync(outDir);
  const merged = await attempt(c, 'merge', () => runMerge(mergeRequest(content, style, path.join(outDir, 'merged.safetensors'), { threads: 1, solver: 'adam', steps: 3 })));
  outcomes.push(`merge: ${merged.ok ? 'result' : merged.message}`);
  const expected = merged.ok ? ['merged.safetensors', 'merged.ziplora.safetensors'] : [];
  assert.deepEqual(leftBehind(outDir, expected), [], `merge of ${c.label} left files behind (${outcomes.at(-1)})`);
  if (merged.ok) {
    assert.ok(existsSync(path.join(outDir, 'merged.ziplora.safetensors')), `merge of ${c.label} reported a result without its sidecar`);
    // A merge that reports a result merged finite values: NaN or Inf in an input must be refused, not written.
    const summary = merged.result as MergeSummary;
    for (const key of ['meanErrors', 'meanDirectErrors'] as const) {
      // An input in no merged layer has no mean (NaN); every mean there is must be finite.
      const values = summary[key].filter((_, i) => summary.reports.some((r) => r.inputs.includes(i)));
      assert.ok(values.every(Number.isFinite), `merge of ${c.label} wrote a result with ${key} ${summary[key].join(', ')}`);
    }
  }
  return outcomes;
}

function runThroughCli(c: FuzzCase, dir: string, content: string, style: string): void {
  const mutated = c.side === 'content' ? content : style;
  const outDir = path.join(dir, 'cli-out');
  mkdirSync(outDir);
  const output = path.join(outDir, 'merged.safetensors');
  for (const args of [['inspect', mutated, '--stats'], ['compare', content, style], ['merge', content, style, '-o', output, '--threads', '1', '--solver', 'adam', '--steps', '5']]) {
    const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: CASE_TIMEOUT_MS, env: { ...process.env, ZIPLORA_DEBUG: '' } });
    const what = `ziplora ${args[0]} on ${c.label}`;
    assert.notEqual(run.signal, 'SIGTERM', `${what} hung`);
    assert.ok(run.status === 0 || run.status === 1, `${what} exited ${run.status}: ${run.stderr}`);
    if (run.status === 1) {
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what} wrote more than one line: ${run.stderr}`);
      assert.match(lines[0], /^ziplora: /);
      assert.equal(crashIn(new Error(lines[0]), lines[0]), undefined, `${what}: ${lines[0]}`);
    }
  }
  const left = leftBehind(outDir, existsSync(output) ? ['merged.safetensors', 'merged.ziplora.safetensors'] : []);
  assert.deepEqual(left, [], `ziplora merge on ${c.label} left files behind`);
}

test(`fuzzed Flux, SD3.5, Wan, Qwen-Image and Z-Image LoRAs end in a result or one line (seed ${SEED}, ${CASES} cases)`, { timeout: CASES * 3 * CASE_TIMEOUT_MS }, async (t) => {
  const root = tempDir('ziplora-fuzz-');
  const cases = fuzzCases(SEED, CASES);
  const refusals = new Map<string, number>();
  let results = 0;
  for (const c of cases) {
    for (const outcome of await runInProcess(c, root)) {
      if (outcome.endsWith(': result')) results++;
      else {
        const refusal = outcome.replace(/\/\S+\.safetensors/g, 'FILE');
        refusals.set(refusal, (refusals.get(refusal) ?? 0) + 1);
      }
    }
  }
  if (process.env.ZIPLORA_FUZZ_VERBOSE) for (const [refusal, n] of refusals) t.diagnostic(`${n}× ${refusal}`);
  // Both kinds of ending must occur, or the fuzz tests nothing: the unchanged cases merge, the broken ones are refused.
  assert.ok(results >= FUZZ_FAMILIES_COUNT * 3, `only ${results} results`);
  assert.ok(refusals.size > 20, `only ${refusals.size} distinct refusals`);
});

const FUZZ_FAMILIES_COUNT = 5;

test(`a sample of the fuzzed cases through the built CLI: exit 0, or exit 1 with one line (seed ${SEED})`, { timeout: 10 * 60_000 }, async () => {
  if (!existsSync(CLI)) execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'esbuild.js')], { cwd: PROJECT_ROOT, stdio: 'ignore' });
  const root = tempDir('ziplora-fuzz-cli-');
  const sample = fuzzCases(SEED, CASES).filter((_, i) => i % CLI_EVERY === 0);
  assert.ok(sample.length >= 3);
  for (const c of sample) {
    const dir = path.join(root, `case-${c.label.replace(/\W+/g, '-')}`);
    mkdirSync(dir);
    const { content, style } = await writeCase(dir, c);
    runThroughCli(c, dir, content, style);
  }
});
