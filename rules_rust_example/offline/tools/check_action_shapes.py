#!/usr/bin/env python3
"""Checks the action shapes in a Bazel --execution_log_json_file of this workspace.

usage: check_action_shapes.py EXEC_LOG.json [--pipelined | --not-pipelined]

For every library (an .rlib output of a `Rustc` spawn):
  pipelined:     exactly one `RustcMetadata` spawn whose only output is the matching .rmeta;
                 the two argvs differ only in the param file name and
                 `--rustc-quit-on-rmeta true`; same environment; inputs differ only in the
                 param file, whose contents (digest) are the same.
  not pipelined: no RustcMetadata spawns at all.
Prints one line per library and a summary of runners (local / remote / cache hit).
Exit status 1 if a check fails.
"""

import json
import sys
from collections import Counter


def read_log(path):
    text = open(path, encoding="utf-8").read()
    dec = json.JSONDecoder()
    i, out = 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def outputs(spawn):
    listed = [o if isinstance(o, str) else o["path"] for o in spawn.get("listedOutputs", [])]
    return listed or [o["path"] for o in spawn.get("actualOutputs", [])]


def is_param(path):
    return path.endswith(".params")


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    path = args[0]
    expect_pipelined = None
    if "--pipelined" in args:
        expect_pipelined = True
    if "--not-pipelined" in args:
        expect_pipelined = False

    spawns = read_log(path)
    failures = []
    rustc_libs = {}
    metadata = {}
    bins = []
    for s in spawns:
        m = s.get("mnemonic")
        outs = outputs(s)
        if m == "Rustc":
            rlibs = [o for o in outs if o.endswith(".rlib")]
            if rlibs:
                if len(outs) != 1:
                    failures.append("Rustc for %s declares %s" % (rlibs[0], outs))
                rustc_libs[rlibs[0][: -len(".rlib")]] = s
            else:
                bins.append(s)
        elif m == "RustcMetadata":
            if len(outs) != 1 or not outs[0].endswith(".rmeta"):
                failures.append("RustcMetadata declares %s" % outs)
                continue
            stem = outs[0][: -len(".rmeta")]
            if stem in metadata:
                failures.append("two RustcMetadata spawns for %s" % stem)
            metadata[stem] = s

    pipelined = bool(metadata)
    if expect_pipelined is not None and pipelined != expect_pipelined:
        failures.append("expected pipelined=%s, log has %d RustcMetadata spawns" % (expect_pipelined, len(metadata)))

    for stem in sorted(rustc_libs):
        full = rustc_libs[stem]
        name = stem.rsplit("/", 1)[-1]
        if not pipelined:
            print("%-40s Rustc only (%s)" % (name, full.get("runner")))
            continue
        meta = metadata.get(stem)
        if meta is None:
            failures.append("%s: no RustcMetadata spawn" % name)
            continue
        a_full, a_meta = full["commandArgs"], meta["commandArgs"]
        # Remove `--rustc-quit-on-rmeta true` from the metadata argv.
        stripped = []
        i = 0
        while i < len(a_meta):
            if a_meta[i] == "--rustc-quit-on-rmeta" and i + 1 < len(a_meta) and a_meta[i + 1] == "true":
                i += 2
                continue
            stripped.append(a_meta[i])
            i += 1
        if len(stripped) != len(a_meta) - 2:
            failures.append("%s: metadata argv lacks --rustc-quit-on-rmeta true" % name)
        diffs = [(x, y) for x, y in zip(a_full, stripped) if x != y]
        if len(a_full) != len(stripped) or len(diffs) != 1 or not all(
            x.startswith("@") and is_param(x) and y.startswith("@") and is_param(y) for x, y in diffs
        ):
            failures.append("%s: argv differs beyond the param file: %s" % (name, diffs))
        env_f = {e["name"]: e["value"] for e in full.get("environmentVariables", [])}
        env_m = {e["name"]: e["value"] for e in meta.get("environmentVariables", [])}
        if env_f != env_m:
            failures.append("%s: environments differ" % name)
        in_f = {e["path"]: e.get("digest", {}).get("hash") for e in full.get("inputs", [])}
        in_m = {e["path"]: e.get("digest", {}).get("hash") for e in meta.get("inputs", [])}
        only_f = sorted(set(in_f) - set(in_m))
        only_m = sorted(set(in_m) - set(in_f))
        changed = sorted(p for p in set(in_f) & set(in_m) if in_f[p] != in_m[p])
        param_digest_same = None
        if only_f or only_m:
            if not (all(is_param(p) for p in only_f + only_m) and len(only_f) == len(only_m) == 1):
                failures.append("%s: inputs differ beyond the param file: +%s -%s" % (name, only_f, only_m))
            else:
                param_digest_same = in_f[only_f[0]] == in_m[only_m[0]]
                if not param_digest_same:
                    failures.append("%s: param files have different contents" % name)
        if changed:
            failures.append("%s: inputs with different digests: %s" % (name, changed))
        print(
            "%-40s RustcMetadata+Rustc ok: %d inputs, param files %s (%s/%s)"
            % (
                name,
                len(in_f),
                "same content" if param_digest_same else ("not in log" if param_digest_same is None else "DIFFER"),
                meta.get("runner"),
                full.get("runner"),
            )
        )

    for stem in sorted(set(metadata) - set(rustc_libs)):
        failures.append("%s: RustcMetadata without Rustc" % stem)

    runners = Counter(
        "%s%s" % (s.get("runner"), " (cache hit)" if s.get("remoteCacheHit") else "") for s in spawns
    )
    mnemonics = Counter(s.get("mnemonic") for s in spawns)
    print("libraries: %d, binaries: %d, RustcMetadata: %d" % (len(rustc_libs), len(bins), len(metadata)))
    print("spawns by mnemonic: %s" % dict(sorted(mnemonics.items())))
    print("spawns by runner: %s" % dict(sorted(runners.items())))
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
