#!/bin/sh
# Records where the Rust toolchain lives, for the @rust_toolchain repository.
#
# Writes .rust_sysroot.bazelrc (git-ignored, imported by .bazelrc) with
#   build --repo_env=RUST_SYSROOT=<sysroot>
# Run it with your real HOME (a rustup proxy `rustc` cannot find its toolchain under a
# private HOME, which is how tests run Bazel). Sysroot source, in order: $RUST_SYSROOT,
# `rustc --print sysroot`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sysroot=${RUST_SYSROOT:-}
if [ -z "$sysroot" ]; then
  sysroot=$(rustc --print sysroot)
fi
if [ ! -x "$sysroot/bin/rustc" ]; then
  echo "setup.sh: no executable bin/rustc under '$sysroot'" >&2
  exit 1
fi
release=$("$sysroot/bin/rustc" -vV | sed -n 's/^release: //p')
if ! command -v cc >/dev/null 2>&1; then
  echo "setup.sh: warning: no 'cc' on PATH; linking binaries needs gcc (or clang) and libc6-dev" >&2
fi
out="$here/.rust_sysroot.bazelrc"
printf '# Written by setup.sh; rustc %s\nbuild --repo_env=RUST_SYSROOT=%s\nquery --repo_env=RUST_SYSROOT=%s\nfetch --repo_env=RUST_SYSROOT=%s\n' "$release" "$sysroot" "$sysroot" "$sysroot" > "$out.tmp"
mv "$out.tmp" "$out"
echo "setup.sh: RUST_SYSROOT=$sysroot (rustc $release) -> $out"
