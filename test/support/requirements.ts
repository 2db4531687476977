/**
 * What a test needs from the machine (the shared fixtures beside the checkout, root's mount permission):
 * outside CI a test whose need is missing is skipped with the reason; in CI (CI=true, as `.ci/run` runs) it
 * fails instead, because CI provides all of them and a skip there would be a test that cannot fail.
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** CI sets CI=true (GitHub Actions and most runners do too). */
export const inCi = (env: NodeJS.ProcessEnv = process.env): boolean => /^(true|1)$/i.test(env.CI ?? '');

/** Skips `t` with `reason`, or in CI throws it as the test's failure. */
export function skipOrFailInCi(t: TestContext, reason: string): void {
  if (inCi()) throw new Error(`${reason} — CI=true, where no test may be skipped`);
  t.skip(reason);
}

/**
 * True when every path in `paths` exists; otherwise skips `t` (fails it in CI) naming the first missing one.
 * Use as `if (!hasFixtures(t, file)) return;`.
 */
export function hasFixtures(t: TestContext, ...paths: string[]): boolean {
  const missing = paths.find((p) => !existsSync(p));
  if (missing === undefined) return true;
  skipOrFailInCi(t, `needs ${missing}, which is missing (the shared fixtures: clone ../shared beside the checkout)`);
  return false;
}
