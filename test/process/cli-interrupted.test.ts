/**
 * `ziplora merge --force` over an existing output, interrupted in each phase as a user would: Ctrl-C (SIGINT)
 * and SIGKILL of the CLI (a closed terminal, an OOM kill). The worker stalls in the phase under test and marks
 * it (src/worker/test-phase-delay.ts); afterwards the folder is byte for byte as it was.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MERGE_PHASES, sidecarPathFor } from '../../src/core/merge/request';
import { tempDir } from '../support/build-safetensors';
import { folderSnapshot, phaseDelayEnv, waitForExit } from '../support/interrupt';
import { writePair } from '../support/merge-fixtures';
import { PROJECT_ROOT } from '../support/run-cli';
import { randomNormal, seededRandom } from '../support/seeded-random';

const root = tempDir('cli-interrupted-');
const inputs = path.join(root, 'inputs');
mkdirSync(inputs);
const pair = writePair(inputs);

async function until(what: string, probe: () => boolean, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let cases = 0;
for (const signal of ['SIGINT', 'SIGKILL'] as const) {
  for (const phase of MERGE_PHASES) {
    const seed = ++cases;
    test(`${signal} of \`ziplora merge --force\` while ${phase}: the existing output and sidecar are untouched, nothing is added`, { timeout: 60_000 }, async () => {
      const { content, style } = await pair;
      const dir = path.join(root, `case-${seed}`);
      mkdirSync(dir);
      const output = path.join(dir, 'out.safetensors');
      for (const file of [output, sidecarPathFor(output)]) writeFileSync(file, randomNormal(4096, seededRandom(seed)));
      const before = folderSnapshot(dir);
      const marker = path.join(root, `worker-${seed}.pid`);
      const cli = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts'), 'merge', content, style, '-o', output, '--force', '--backend', 'wasm'], {
        cwd: PROJECT_ROOT,
        env: phaseDelayEnv(phase, 300, marker),
      });
      let stderr = '';
      cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => cli.on('exit', (code, s) => resolve({ code, signal: s })));
      await until(`the worker to reach ${phase}`, () => existsSync(marker));
      const worker = Number(readFileSync(marker, 'utf8'));
      cli.kill(signal);
      const end = await exited;
      if (signal === 'SIGINT') {
        assert.equal(end.code, 130, stderr);
        assert.equal(stderr, 'ziplora: the merge was cancelled; no output was written\n');
      } else {
        assert.equal(end.signal, 'SIGKILL');
      }
      // The worker outlives a SIGKILLed CLI only until it sees the IPC channel close.
      await waitForExit(worker, 15_000);
      assert.deepEqual(folderSnapshot(dir), before);
    });
  }
}
