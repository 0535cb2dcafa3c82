"""Macro for crates unpacked by Debian's librust-*-dev packages.

Used from third_party/crates.BUILD.bazel, the BUILD file of @crates
(/usr/share/cargo/registry). Each crate lives in <crate>-<version>/; the version is
found by glob so the BUILD file does not depend on the exact Debian release.
"""

load("//rust:defs.bzl", "rust_library")

def _crate_dir(package):
    prefix = package + "-"
    found = []
    for f in native.glob([prefix + "*/Cargo.toml"]):
        d = f[:-len("/Cargo.toml")]
        rest = d[len(prefix):]

        # "regex-*" also matches regex-syntax-0.6.27: keep <package>-<digit>...
        if rest and rest[0].isdigit():
            found.append(d)
    if not found:
        fail("crate {} is not in /usr/share/cargo/registry: run scripts/install-rust-crates.sh".format(package))
    return sorted(found)[-1]

def debian_crate(
        name,
        deps = [],
        crate_features = [],
        edition = "2015",
        rustc_flags = [],
        crate_root = "src/lib.rs",
        srcs = ["src/**/*.rs"],
        crate_name = None):
    """A rust_library for /usr/share/cargo/registry/<name>-<version>/.

    Args:
      name: the Cargo package name (e.g. "aho-corasick"); also the target name.
      deps: other debian_crate targets.
      crate_features: enabled Cargo features (expanded by hand: defaults included).
      edition: from the crate's Cargo.toml (2015 when it has none).
      rustc_flags: extra flags, e.g. the --cfg values its build script would print.
      crate_root: relative to the crate directory.
      srcs: globs relative to the crate directory.
      crate_name: defaults to name with - replaced by _.
    """
    d = _crate_dir(name)
    version = d[len(name) + 1:]
    rust_library(
        name = name,
        crate_name = crate_name,
        crate_root = d + "/" + crate_root,
        srcs = native.glob([d + "/" + s for s in srcs], exclude = [d + "/" + crate_root]) + [d + "/" + crate_root],
        deps = deps,
        edition = edition,
        crate_features = crate_features,
        version = version,
        cargo_manifest_dir = d,

        # Third-party code: like crate_universe's generated BUILD files.
        rustc_flags = ["--cap-lints=allow"] + rustc_flags,
        visibility = ["//visibility:public"],
    )
