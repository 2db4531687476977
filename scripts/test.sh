#!/usr/bin/env bash
# The one test command (README, .ci/run): type-check, bundle, and run every test.
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
