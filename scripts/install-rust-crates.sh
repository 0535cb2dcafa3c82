#!/bin/sh
# Installs the Debian crate sources that rules_rust_example/offline and test/fixtures/cargo-workspace build, then runs the
# example's setup.sh (records the Rust sysroot for Bazel).
#
# Idempotent: apt-get runs only when one of the packages is missing, and then only for the
# missing ones (their sources land in /usr/share/cargo/registry/<crate>-<version>/).
# Needs root (or sudo) only when something has to be installed.
#   --no-setup   only install the packages
set -eu

PACKAGES="
librust-memchr-dev
librust-aho-corasick-dev
librust-regex-syntax-dev
librust-regex-dev
librust-serde-dev
librust-itoa-dev
librust-ryu-dev
librust-serde-json-dev
librust-either-dev
librust-itertools-dev
librust-unicode-width-dev
librust-fnv-dev
librust-serde-derive-dev
librust-syn-dev
librust-proc-macro2-dev
librust-quote-dev
librust-unicode-ident-dev
librust-lazy-static-dev
librust-log-dev
librust-once-cell-dev
librust-scopeguard-dev
librust-cfg-if-dev
librust-smallvec-dev
"

run_setup=1
for arg in "$@"; do
  case "$arg" in
    --no-setup) run_setup=0 ;;
    *) echo "usage: $0 [--no-setup]" >&2; exit 2 ;;
  esac
done

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "install-rust-crates: installing:$missing"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only if apt cannot find the packages.
  # shellcheck disable=SC2086
  if ! $sudo apt-get install -y --no-install-recommends $missing; then
    $sudo apt-get update
    # shellcheck disable=SC2086
    $sudo apt-get install -y --no-install-recommends $missing
  fi
else
  echo "install-rust-crates: all $(echo $PACKAGES | wc -w) packages already installed"
fi

for c in memchr aho-corasick regex-syntax regex serde itoa ryu serde_json either itertools unicode-width fnv \
  serde_derive syn proc-macro2 quote unicode-ident lazy_static log once_cell scopeguard cfg-if smallvec; do
  if ! ls -d /usr/share/cargo/registry/"$c"-[0-9]* >/dev/null 2>&1; then
    echo "install-rust-crates: /usr/share/cargo/registry/$c-<version> is missing" >&2
    exit 1
  fi
done

if [ "$run_setup" = 1 ]; then
  here=$(cd "$(dirname "$0")" && pwd)
  "$here/../rules_rust_example/offline/setup.sh"
fi
