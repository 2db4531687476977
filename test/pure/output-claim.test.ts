/** The output claim's rules, in one process: exclusive, all or none, stale when its process is gone, released once. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { claimOutputs, lockPathFor, OutputClaimedError, releaseClaimsHelpedBy } from '../../src/core/output-claim';
import { tempDir } from '../support/build-safetensors';

const root = tempDir('output-claim-rules-');
let n = 0;
const folder = () => {
  const dir = path.join(root, `case-${++n}`);
  mkdirSync(dir);
  return dir;
};

/** A pid that is not running here: far above any pid_max in use. */
const DEAD_PID = 2 ** 22 + 12345;

function lockOf(holder: { pid: number; hostname?: string; started?: string; token?: string }): string {
  return JSON.stringify({ hostname: os.hostname(), started: new Date().toISOString(), description: 'a merge from a test', token: 'feedface', ...holder });
}

test('a claimed name is refused to a second claim, naming the holder; released, it can be claimed again', () => {
  const output = path.join(folder(), 'out.safetensors');
  const first = claimOutputs([output], 'the first merge');
  assert.throws(() => claimOutputs([output], 'the second merge'), (error: unknown) => {
    assert.ok(error instanceof OutputClaimedError);
    assert.match(error.message, new RegExp(`^${output.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: another merge is writing this file: the first merge \\(pid ${process.pid} on `));
    assert.match(error.message, /--force does not override a running merge/);
    return true;
  });
  first.release();
  assert.equal(existsSync(lockPathFor(output)), false);
  claimOutputs([output], 'the second merge').release();
});

test('all or none: when the second name is held, the first is not left claimed', () => {
  const dir = folder();
  const [a, b] = [path.join(dir, 'a.safetensors'), path.join(dir, 'b.safetensors')];
  const holder = claimOutputs([b], 'another merge');
  assert.throws(() => claimOutputs([a, b], 'a merge of both'), OutputClaimedError);
  assert.equal(existsSync(lockPathFor(a)), false);
  holder.release();
});

test('a lock whose process is gone on this host is stale and taken over; one from another host is not', () => {
  const dir = folder();
  const output = path.join(dir, 'out.safetensors');
  writeFileSync(lockPathFor(output), lockOf({ pid: DEAD_PID }));
  const claim = claimOutputs([output], 'the next merge');
  assert.equal(JSON.parse(readFileSync(lockPathFor(output), 'utf8')).pid, process.pid);
  claim.release();
  writeFileSync(lockPathFor(output), lockOf({ pid: DEAD_PID, hostname: `not-${os.hostname()}` }));
  assert.throws(() => claimOutputs([output], 'the next merge'), /another merge is writing this file: a merge from a test \(pid \d+ on not-/);
  assert.deepEqual(readdirSync(dir), ['out.safetensors.lock']);
});

test('a lock written before the machine last started is stale even if its pid is running now', () => {
  const output = path.join(folder(), 'out.safetensors');
  const beforeBoot = new Date(Date.now() - os.uptime() * 1000 - 60_000).toISOString();
  writeFileSync(lockPathFor(output), lockOf({ pid: process.pid, started: beforeBoot }));
  claimOutputs([output], 'the next merge').release();
});

test('a lock that cannot be read is refused with the path to remove; a release never removes a lock it does not hold', () => {
  const output = path.join(folder(), 'out.safetensors');
  writeFileSync(lockPathFor(output), 'not json');
  assert.throws(() => claimOutputs([output], 'a merge'), new RegExp(`another merge \\(its lock cannot be read\\).*if none is running, remove ${lockPathFor(output).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
  writeFileSync(lockPathFor(output), lockOf({ pid: process.pid }));
  const other = path.join(path.dirname(output), 'other.safetensors');
  const claim = claimOutputs([other], 'a merge');
  writeFileSync(lockPathFor(other), lockOf({ pid: process.pid, token: 'someone-else' }));
  claim.release();
  assert.ok(existsSync(lockPathFor(other)), 'released a lock that another claim had taken');
});

test('a claim stays live while a helper it recorded (the worker) runs, after its own process is gone', () => {
  const output = path.join(folder(), 'out.safetensors');
  writeFileSync(lockPathFor(output), JSON.stringify({ ...JSON.parse(lockOf({ pid: DEAD_PID })), helpers: [process.pid] }));
  assert.throws(() => claimOutputs([output], 'the next merge'), OutputClaimedError);
  const claim = claimOutputs([path.join(path.dirname(output), 'mine.safetensors')], 'a merge');
  claim.addHelper(DEAD_PID);
  assert.deepEqual(JSON.parse(readFileSync(lockPathFor(path.join(path.dirname(output), 'mine.safetensors')), 'utf8')).helpers, [DEAD_PID]);
  claim.release();
});

test('a helper releases only the locks that name it, for a claimant killed outright', () => {
  const dir = folder();
  const [mine, theirs] = [path.join(dir, 'mine.safetensors'), path.join(dir, 'theirs.safetensors')];
  writeFileSync(lockPathFor(mine), JSON.stringify({ ...JSON.parse(lockOf({ pid: DEAD_PID })), helpers: [4242] }));
  writeFileSync(lockPathFor(theirs), JSON.stringify({ ...JSON.parse(lockOf({ pid: DEAD_PID })), helpers: [4243] }));
  releaseClaimsHelpedBy([mine, theirs], 4242);
  assert.deepEqual(readdirSync(dir), ['theirs.safetensors.lock']);
});
