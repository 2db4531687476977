#!/usr/bin/env bash
# The one test command (README, .ci/run): type-check, bundle, the pure tests (in-process: no child process, no
# worker thread, no browser), the process tests (worker, compute threads, CLI, interruption), the webview tests,
# then the extension tests in VS Code.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage prints the seconds elapsed so far (CI allows 90 minutes; a whole run took about 14 on 2 cores).
stage() { echo "== $1 (at ${SECONDS} s)"; }
# The webview tests drive Debian's Chromium (never a downloaded browser); install it on a fresh machine.
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium for the webview tests"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and this is not root: run 'sudo apt-get install chromium'" >&2
    exit 1
  fi
fi
stage "type-check"
npx tsc -p .
stage "bundle"
node esbuild.js
# Outputs are kept to add up the counts for the closing line. A failing runner does not stop the others, so
# the closing line counts every test; the command still exits non-zero.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
runner_failed=0
# The pure tests are independent and CPU-bound: one file per core (node's default leaves one core idle). The
# process tests keep the default: they time interrupts and start processes of their own.
stage "pure tests"
node --import tsx --test --test-concurrency="$(nproc)" test/pure/*.test.ts | tee "$logs/pure" || runner_failed=1
stage "process tests"
node --import tsx --test test/process/*.test.ts | tee "$logs/process" || runner_failed=1
stage "webview tests (Chromium)"
node --import tsx --test test/webview/*.test.ts | tee "$logs/webview" || runner_failed=1
# Extension tests in a real VS Code (test/vscode/run.ts): where none can be downloaded, code-server's VS Code
# 1.100.3 in headless Chromium (tools/code-server, its own package.json; install.sh is idempotent).
stage "VS Code extension tests"
bash tools/code-server/install.sh
node test/vscode/build.js
node --import tsx test/vscode/run.ts | tee "$logs/vscode" || runner_failed=1
# The linux-x64 .vsix of `npm run package`, installed in code-server: activation and a merge from the package.
stage "VS Code package test"
node --import tsx --test test/vscode-package/*.test.ts | tee "$logs/vscode-package" || runner_failed=1
echo "== finished in ${SECONDS} s"
# `N passed, M failed, K skipped` from every runner, and each skipped test with its reason.
node --import tsx scripts/test-summary.ts "$logs"/* || runner_failed=1
exit "$runner_failed"
