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
# `test/` folder (helpers, fixtures, the 30-minute soak's entry point). Files run in parallel up to the core count,
# the longest first (so the suite does not end on one long file with the other slot idle), then the rest in order;
# e2e tests take one of two Bazel slots (test/e2e/bazel-harness.ts).
if [ $# -eq 0 ]; then
  longest=(e2e/bazel-rust cargo/cargo-wrapper e2e/bazel-scale-out e2e/dashboard dtlto/cargo-dtlto soak/soak helm/deployment
    fuzz/rpc-fuzz e2e/crash-trials cargo/cargo-faults e2e/bazel-remote-execution e2e/bazel-auth e2e/bazel-cache dtlto/burst-fairness)
  files=()
  for f in "${longest[@]}"; do [ -f "dist/test/$f.test.js" ] && files+=("dist/test/$f.test.js"); done
  while IFS= read -r f; do
    case " ${files[*]} " in *" $f "*) ;; *) files+=("$f") ;; esac
  done < <(find dist/test -name '*.test.js' | sort)
  set -- "${files[@]}"
fi
exec node scripts/run-tests.js "${TEST_CONCURRENCY:-2}" 900000 "$@"
