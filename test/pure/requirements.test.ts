/** A test whose need (a fixture, a permission) is missing is skipped with the reason, and fails instead in CI. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { hasFixtures, skipOrFailInCi } from '../support/requirements';

/** A stand-in for node:test's context that records skips. */
function recordingContext(): { t: TestContext; skips: string[] } {
  const skips: string[] = [];
  return { t: { skip: (reason?: string) => skips.push(reason ?? '') } as unknown as TestContext, skips };
}

/** Runs `body` with CI set to `value` (deleted when undefined), restoring it afterwards. */
function withCi<T>(value: string | undefined, body: () => T): T {
  const saved = process.env.CI;
  if (value === undefined) delete process.env.CI;
  else process.env.CI = value;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
}

test('outside CI a missing fixture skips the test, naming the first missing path', () => {
  const { t, skips } = recordingContext();
  const missing = path.join(__dirname, 'no-such-fixture.safetensors');
  assert.equal(withCi(undefined, () => hasFixtures(t, __filename, missing)), false);
  assert.deepEqual(skips, [`needs ${missing}, which is missing (the shared fixtures: clone ../shared beside the checkout)`]);
});

test('in CI a missing fixture fails the test with the same reason, and nothing is skipped', () => {
  const { t, skips } = recordingContext();
  const missing = path.join(__dirname, 'no-such-fixture.safetensors');
  assert.throws(() => withCi('true', () => hasFixtures(t, missing)), (e: Error) => e.message.startsWith(`needs ${missing}, which is missing`) && e.message.endsWith('CI=true, where no test may be skipped'));
  assert.throws(() => withCi('true', () => skipOrFailInCi(t, 'cannot mount a tmpfs here')), /^Error: cannot mount a tmpfs here — CI=true/);
  assert.deepEqual(skips, []);
});

test('present fixtures neither skip nor fail, in CI or not', () => {
  const { t, skips } = recordingContext();
  assert.equal(withCi('true', () => hasFixtures(t, __filename, __dirname)), true);
  assert.equal(withCi(undefined, () => hasFixtures(t, __filename)), true);
  assert.deepEqual(skips, []);
});
