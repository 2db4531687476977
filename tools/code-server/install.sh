#!/usr/bin/env bash
# Install code-server 4.100.3 (VS Code 1.100.3) into tools/code-server/node_modules.
# Idempotent: does nothing when the installed code-server already runs.
#
# What it needs on this kind of machine (no GitHub, only the npm registry and Debian apt):
#   - libkrb5-dev (headers for the `kerberos` native module of VS Code's server) — installed with apt when
#     missing (needs root);
#   - the ripgrep download of @vscode/ripgrep's postinstall (from GitHub) seeded into its cache:
#     $TMPDIR/vscode-ripgrep-cache-<version>/ripgrep-<tag>-x86_64-unknown-linux-musl.tar.gz, a tar.gz with `rg`
#     at its root; the binary comes from the npm package @vscode/ripgrep-linux-x64.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
bin="$here/node_modules/.bin/code-server"
# code-server writes ~/.config/code-server/config.yaml on any start, even --version: keep it out of HOME.
cs_version() { local h; h="$(mktemp -d)"; HOME="$h" XDG_CONFIG_HOME="$h" XDG_DATA_HOME="$h" "$bin" --version 2>/dev/null | grep -E "^[0-9]+\.[0-9]+\.[0-9]+ " | head -1; rm -rf "$h"; }

if [[ "${1:-}" != "--force" && -x "$bin" ]] && cs_version | grep -q '^4\.100\.3 '; then
  echo "code-server already installed: $(cs_version)"
  exit 0
fi

if [[ "$(uname -m)" != "x86_64" ]]; then
  echo "install.sh seeds the x86_64 ripgrep only; on $(uname -m) run npm ci here with network access to GitHub" >&2
fi

# 1. Kerberos headers.
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev
  else
    echo "libkrb5-dev is missing; run: sudo apt-get install libkrb5-dev" >&2
    exit 1
  fi
fi

# 2. Seed the ripgrep cache of @vscode/ripgrep's postinstall.
tmp="${TMPDIR:-/tmp}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @vscode/ripgrep-linux-x64@1.18.0 >/dev/null && tar xzf vscode-ripgrep-linux-x64-*.tgz)
mkdir -p "$work/rg"
cp "$work/package/bin/rg" "$work/rg/rg"
chmod 755 "$work/rg/rg"
# @vscode/ripgrep version -> the release tag its postinstall downloads.
for pair in "1.15.11:v13.0.0-10"; do
  version="${pair%%:*}"; tag="${pair#*:}"
  cache="$tmp/vscode-ripgrep-cache-$version"
  mkdir -p "$cache"
  tar czf "$cache/ripgrep-$tag-x86_64-unknown-linux-musl.tar.gz" -C "$work/rg" rg
done

# 3. Install (package-lock.json pins the tree; the .npmrc here sets unsafe-perm and yes for root).
if [[ -f package-lock.json ]]; then npm ci --no-fund --no-audit; else npm install --no-fund --no-audit; fi

echo "installed: $(cs_version)"
