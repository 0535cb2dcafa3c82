#!/usr/bin/env bash
# Installs the npm packages when they are missing or older than package-lock.json (a fresh clone has none).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # zstd-napi compiles its bundled libzstd with node-gyp; without this its prebuild-install first tries a GitHub
  # download, which this project must not depend on.
  npm_config_build_from_source=zstd-napi npm ci --no-audit --no-fund
fi
