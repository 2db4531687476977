/**
 * The test command's closing lines: passed, failed and skipped tests counted from every runner's output
 * (node:test's TAP summary, mocha's spec summary in the VS Code run), and each skipped test with its reason,
 * so that a skip (missing ../shared fixtures, no tmpfs) never disappears from the summary.
 * Usage: node --import tsx scripts/test-summary.ts LOG…   (exit 1 when a test failed, or in CI when one was skipped)
 */
import { readFileSync } from 'node:fs';
import { inCi } from '../test/support/requirements';

export interface RunCounts {
  passed: number;
  failed: number;
  skipped: number;
  /** `name — reason` for each skipped test. */
  skips: string[];
}

/** Sums every match of `pattern` (its first group, a count) in `text`. */
const total = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);

export function countRun(text: string): RunCounts {
  // node:test prints `# pass N`, `# fail N`, `# skipped N`, `# todo N` once per run; mocha `N passing|failing|pending`.
  const skips = [
    ...[...text.matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)].map((m) => `${m[1]} — ${m[2] || 'no reason given'}`),
    ...[...text.matchAll(/^\s*ok \d+ - (.*?) # TODO ?(.*)$/gm)].map((m) => `${m[1]} — todo: ${m[2] || 'no reason given'}`),
    // mocha's spec reporter prints a pending test as `  - title`; pending tests carry no reason of their own.
    ...[...text.matchAll(/^\s+- (?!\s)(.+)$/gm)].filter(() => /^\s*\d+ pending/m.test(text)).map((m) => `${m[1]} — pending in the VS Code suite`),
  ];
  return {
    passed: total(text, /^# pass (\d+)$/gm) + total(text, /^\s*(\d+) passing/gm),
    failed: total(text, /^# fail (\d+)$/gm) + total(text, /^\s*(\d+) failing/gm),
    skipped: total(text, /^# skipped (\d+)$/gm) + total(text, /^# todo (\d+)$/gm) + total(text, /^\s*(\d+) pending/gm),
    skips,
  };
}

export function summarize(texts: readonly string[]): RunCounts {
  const runs = texts.map(countRun);
  return {
    passed: runs.reduce((s, r) => s + r.passed, 0),
    failed: runs.reduce((s, r) => s + r.failed, 0),
    skipped: runs.reduce((s, r) => s + r.skipped, 0),
    skips: runs.flatMap((r) => r.skips),
  };
}

/** Why the run fails: a failed test; in CI also a skipped one, since CI has everything a test needs. */
export function runProblems(counts: RunCounts, ci: boolean): string[] {
  const problems = counts.failed > 0 ? [`${counts.failed} failed`] : [];
  if (ci && counts.skipped > 0) problems.push(`${counts.skipped} skipped with CI=true, where every test must run`);
  return problems;
}

if (require.main === module) {
  const counts = summarize(process.argv.slice(2).map((file) => readFileSync(file, 'utf8')));
  if (counts.skips.length) console.log(`skipped:\n${counts.skips.map((s) => `  - ${s}`).join('\n')}`);
  console.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  const problems = runProblems(counts, inCi());
  if (problems.length) console.log(`the run fails: ${problems.join('; ')}`);
  process.exitCode = problems.length ? 1 : 0;
}
