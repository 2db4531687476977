#!/usr/bin/env bash
# The one test command (README, .ci/run): type-check, bundle, unit and webview tests, then the extension tests in VS Code.
set -euo pipefail
cd "$(dirname "$0")/.."
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
echo "== type-check"
npx tsc -p .
echo "== bundle"
node esbuild.js
echo "== unit and webview (Chromium) tests"
node --import tsx --test test/unit/*.test.ts test/webview/*.test.ts
# Extension tests in a real VS Code (test/vscode/run.ts): where none can be downloaded, code-server's VS Code
# 1.100.3 in headless Chromium (tools/code-server, its own package.json; install.sh is idempotent).
echo "== VS Code extension tests"
bash tools/code-server/install.sh
node test/vscode/build.js
node --import tsx test/vscode/run.ts
