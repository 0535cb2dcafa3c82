"""Public API of this offline stand-in for rules_rust: rust_library and rust_binary.

The attribute names follow rules_rust (srcs, crate_root, crate_name, deps, edition,
crate_features, rustc_flags, rustc_env, version, compile_data), so BUILD files read the
same; see README.md for what is left out.
"""

load(
    "//rust/private:rustc.bzl",
    _CrateInfo = "CrateInfo",
    _DepInfo = "DepInfo",
    _rust_binary = "rust_binary",
    _rust_library = "rust_library",
)

CrateInfo = _CrateInfo
DepInfo = _DepInfo
rust_library = _rust_library
rust_binary = _rust_binary
