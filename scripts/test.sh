#!/usr/bin/env bash
# The one test command (README, .ci/run): type-check, bundle, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== type-check"
npx tsc -p .
echo "== bundle"
node esbuild.js
echo "== unit and webview (Chromium) tests"
node --import tsx --test test/unit/*.test.ts test/webview/*.test.ts
