/**
 * Cancel and SIGKILL of the worker inside every phase of a merge, reached through its phase events (the worker
 * stalls in the phase under test, see src/worker/test-phase-delay.ts): afterwards the output folder is byte for
 * byte as it was — no output, sidecar or temporary file, and an output that existed (--force) untouched.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MERGE_PHASES, MergePhase, sidecarPathFor } from '../../src/core/merge/request';
import { MergeCancelledError, startMerge } from '../../src/worker/client';
import { tempDir } from '../support/build-safetensors';
import { folderSnapshot, partialsIn, withPhaseDelay } from '../support/interrupt';
import { mergeRequest, writePair } from '../support/merge-fixtures';
import { randomNormal, seededRandom } from '../support/seeded-random';

const root = tempDir('interrupted-');
const inputs = path.join(root, 'inputs');
mkdirSync(inputs);
const pair = writePair(inputs);

/** The temporary files that must be open at the moment of the interrupt, so the test checks a real clean-up. */
const OPEN_IN_PHASE: Record<MergePhase, RegExp[]> = {
  reading: [],
  optimising: [],
  writing: [/^\.out\.safetensors\.\d+\.[0-9a-f]{8}\.partial$/],
  hashing: [/^\.out\.safetensors\.\d+\.[0-9a-f]{8}\.partial$/],
  'writing-sidecar': [/^\.out\.safetensors\.\d+\.[0-9a-f]{8}\.partial$/, /^\.out\.ziplora\.safetensors\.\d+\.[0-9a-f]{8}\.partial$/],
};

/** Bytes that no merge writes: an earlier output and sidecar that must survive an interrupted --force merge. */
function earlierOutput(output: string, seed: number): void {
  const random = seededRandom(seed);
  for (const file of [output, sidecarPathFor(output)]) writeFileSync(file, randomNormal(4096, random));
}

/**
 * Reading, solving and writing overlap layer by layer (pipeline.ts: the compute threads solve while the main
 * thread reads ahead and writes what is solved), so a cancel sent in one of them may meet the others' events
 * before it is seen; it must take effect before the phases that follow them.
 */
const OVERLAPPING: readonly MergePhase[] = ['reading', 'optimising', 'writing'];

let cases = 0;
for (const phase of MERGE_PHASES) {
  for (const action of ['cancel', 'SIGKILL'] as const) {
    for (const existing of [false, true]) {
      const name = `${action} while ${phase}${existing ? ', over an existing output (--force)' : ''}: the output folder is as it was`;
      const seed = ++cases;
      test(name, { timeout: 60_000 }, async () => {
        const { content, style } = await pair;
        const dir = path.join(root, `case-${seed}`);
        mkdirSync(dir);
        const output = path.join(dir, 'out.safetensors');
        if (existing) earlierOutput(output, seed);
        const before = folderSnapshot(dir);
        let open: string[] = [];
        let interrupted = false;
        const reachedAfter = new Set<MergePhase>();
        const running = withPhaseDelay(phase, 300, () =>
          startMerge(mergeRequest(content, style, output, { overwrite: existing, steps: 20 }), {
            onProgress: (p) => {
              if (interrupted) reachedAfter.add(p.phase);
              if (p.phase !== phase || interrupted) return;
              interrupted = true;
              open = partialsIn(dir);
              if (action === 'cancel') running.cancel();
              else process.kill(running.pid!, 'SIGKILL');
            },
          }),
        );
        if (action === 'cancel') await assert.rejects(running.result, (error: unknown) => error instanceof MergeCancelledError);
        else await assert.rejects(running.result, /merge worker was killed \(SIGKILL\) before finishing; no output was written/);
        assert.ok(interrupted, `the merge never reported the ${phase} phase`);
        const allowed = OVERLAPPING.includes(phase) ? OVERLAPPING : [phase];
        assert.deepEqual([...reachedAfter].filter((p) => !allowed.includes(p)), [], 'the interrupt took effect in a later phase');
        for (const pattern of OPEN_IN_PHASE[phase]) assert.ok(open.some((f) => pattern.test(f)), `no temporary file matching ${pattern} was open when interrupted (open: ${open.join(', ') || 'none'})`);
        assert.deepEqual(folderSnapshot(dir), before);
      });
    }
  }
}
