#!/usr/bin/env bash
# The whole test suite, with its own set-up on a fresh machine (npm packages, Bazel from Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bazel >/dev/null 2>&1 || need_apt+=(bazel-bootstrap)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)   # sandboxed actions; Cargo wrapper actions (src/cargo/sandbox-command.ts)
# The dashboard's browser tests drive Debian's Chromium through playwright-core (which downloads no browser).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v mount >/dev/null 2>&1 || need_apt+=(mount)         # tmpfs mounts of the disk-full tests
# Distributed ThinLTO: clang/lld matching rustc's LLVM (22), llvm-22 for llvm-ar-22 and llvm-bcanalyzer.
command -v clang-22 >/dev/null 2>&1 || need_apt+=(clang-22)
command -v ld.lld-22 >/dev/null 2>&1 || need_apt+=(lld-22)
command -v llvm-ar-22 >/dev/null 2>&1 || need_apt+=(llvm-22)
# The Helm chart test renders with Go's text/template + sprig (offline, GOPATH mode); the deployment test uses ip netns.
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || need_apt+=(golang-github-masterminds-sprig-dev)
[ -d /usr/share/gocode/src/gopkg.in/yaml.v3 ] || need_apt+=(golang-gopkg-yaml.v3-dev)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Real Rust crates for the rules_rust example (Debian's librust-*-dev sources).
scripts/install-rust-crates.sh --no-setup

scripts/npm-deps.sh
npm run --silent build

# Only *.test.js files are tests: given a directory, node 20's runner would also run every other module under a
# `test/` folder (helpers, fixtures, the 30-minute soak's entry point). Files run in parallel up to the core count;
# e2e tests take a lock so only one Bazel runs at a time.
if [ $# -eq 0 ]; then
  mapfile -t files < <(find dist/test -name '*.test.js' | sort)
  set -- "${files[@]}"
fi
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=900000 "$@"
