"""Rust rules that register the same actions, with the same command-line shape, as rules_rust.

Per library crate (pipelined_compilation=True):
  RustcMetadata: process_wrapper --subst pwd=${pwd} --rustc-output-format rendered
                     --rustc-quit-on-rmeta true -- <rustc> @<out>/lib<name>-<hash>.rmeta-0.params
                 outputs: lib<name>-<hash>.rmeta
  Rustc:         process_wrapper --subst pwd=${pwd} --rustc-output-format rendered
                     -- <rustc> @<out>/lib<name>-<hash>.rlib-0.params
                 outputs: lib<name>-<hash>.rlib
  Both param files hold the same rustc flags (--emit=dep-info,link,metadata ...), both actions
  have the same env and inputs (dependencies' .rmeta files).
Per library crate (pipelined_compilation=False): only Rustc, --emit=dep-info,link, dependents
  compile against the .rlib.
Per binary: Rustc, --crate-type=bin, --emit=link=<path> --emit=dep-info, against .rlibs, with
  -Ldependency= for every transitive dependency directory.
"""

load("//rust/private:settings.bzl", "BoolSettingInfo")
load("@rust_toolchain//:info.bzl", "TARGET_ARCH", "TARGET_OS", "TARGET_TRIPLE")

CrateInfo = provider(
    doc = "A compiled Rust crate (the subset of rules_rust's CrateInfo this example uses).",
    fields = {
        "name": "str: crate name",
        "type": "str: rlib or bin",
        "root": "File: crate root",
        "output": "File: the .rlib (or the binary)",
        "metadata": "File or None: the .rmeta produced by the RustcMetadata action",
        "edition": "str",
    },
)

DepInfo = provider(
    doc = "Transitive Rust dependencies of a crate.",
    fields = {
        "direct_crates": "list[CrateInfo]",
        "transitive_crates": "depset[CrateInfo]: all crates below (and including, for a dep) this one",
        "transitive_crate_outputs": "depset[File]: their .rlib files",
        "transitive_metadata_outputs": "depset[File]: their .rmeta files (or .rlib when none)",
    },
)

# rules_rust's defaults for toolchain.compilation_mode_opts.
_COMPILATION_MODE_OPTS = {
    "dbg": struct(opt_level = "0", debug_info = "2", strip_level = "none"),
    "fastbuild": struct(opt_level = "0", debug_info = "0", strip_level = "none"),
    "opt": struct(opt_level = "3", debug_info = "0", strip_level = "debuginfo"),
}

# Linking a binary runs `cc`; remote workers get this PATH unless --action_env=PATH is given.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

def _abs(n):
    return -n if n < 0 else n

def _output_hash(ctx, crate_root):
    # Like rules_rust's determine_output_hash: stable per (crate root, label).
    return repr(_abs(hash(crate_root.path + repr(ctx.label))))

def _crate_root(ctx, default_names):
    if ctx.file.crate_root:
        return ctx.file.crate_root
    for src in ctx.files.srcs:
        if src.basename in default_names:
            return src
    if len(ctx.files.srcs) == 1:
        return ctx.files.srcs[0]
    fail("{}: set crate_root (none of {} in srcs)".format(ctx.label, default_names))

def _crate_name(ctx):
    return ctx.attr.crate_name or ctx.label.name.replace("-", "_")

def _collect_deps(deps):
    direct = []
    transitive_crates = []
    outputs = []
    metadata = []
    for dep in deps:
        crate = dep[CrateInfo]
        info = dep[DepInfo]
        direct.append(crate)
        transitive_crates.append(depset([crate], transitive = [info.transitive_crates]))
        outputs.append(depset([crate.output], transitive = [info.transitive_crate_outputs]))
        metadata.append(depset(
            [crate.metadata or crate.output],
            transitive = [info.transitive_metadata_outputs],
        ))
    return DepInfo(
        direct_crates = direct,
        transitive_crates = depset(transitive = transitive_crates),
        transitive_crate_outputs = depset(transitive = outputs),
        transitive_metadata_outputs = depset(transitive = metadata),
    )

def _extern_rlib(crate):
    return "--extern={}={}".format(crate.name, crate.output.path)

def _extern_metadata(crate):
    return "--extern={}={}".format(crate.name, (crate.metadata or crate.output).path)

def _crate_dirname(crate):
    return crate.output.dirname

def _rustc_env(ctx, crate_name):
    version = ctx.attr.version
    major, minor, patch = version.split(".", 2)
    pre = ""
    if "-" in patch:
        patch, pre = patch.split("-", 1)
    components = "${{pwd}}/{}/{}/{}".format(
        ctx.label.workspace_root,
        ctx.label.package,
        ctx.attr.cargo_manifest_dir,
    ).split("/")
    env = dict(ctx.configuration.default_shell_env)
    env.update({
        "CARGO_CFG_TARGET_ARCH": TARGET_ARCH,
        "CARGO_CFG_TARGET_OS": TARGET_OS,
        "CARGO_CRATE_NAME": crate_name,
        "CARGO_MANIFEST_DIR": "/".join([c for c in components if c]),
        "CARGO_PKG_AUTHORS": "",
        "CARGO_PKG_DESCRIPTION": "",
        "CARGO_PKG_HOMEPAGE": "",
        "CARGO_PKG_NAME": ctx.label.name,
        "CARGO_PKG_VERSION": version,
        "CARGO_PKG_VERSION_MAJOR": major,
        "CARGO_PKG_VERSION_MINOR": minor,
        "CARGO_PKG_VERSION_PATCH": patch,
        "CARGO_PKG_VERSION_PRE": pre,
        "REPOSITORY_NAME": ctx.label.workspace_name,
    })
    if "PATH" not in env:
        env["PATH"] = DEFAULT_PATH
    env.update(ctx.attr.rustc_env)
    return env

def _sysroot(rustc):
    # rustc is <sysroot>/bin/rustc
    return rustc.dirname[:-len("/bin")]

def _construct_arguments(
        ctx,
        crate,
        dep_info,
        output_hash,
        emit,
        use_json_output,
        build_metadata,
        use_metadata):
    """Returns [process_wrapper flags, `-- rustc`, rustc flags (always a param file)]."""
    rustc = ctx.file._rustc

    pw_flags = ctx.actions.args()
    pw_flags.add("--subst", "pwd=${pwd}")
    if use_json_output:
        pw_flags.add("--rustc-output-format", "rendered")
    if build_metadata:
        pw_flags.add("--rustc-quit-on-rmeta", "true")

    rustc_path = ctx.actions.args()
    rustc_path.add("--")
    rustc_path.add(rustc)

    flags = ctx.actions.args()
    flags.set_param_file_format("multiline")

    # rules_rust uses use_always = False (a param file only for long command lines);
    # always using one keeps the `process_wrapper ... -- rustc @file` shape for every crate.
    flags.use_param_file("@%s", use_always = True)
    flags.add(crate.root)
    flags.add(crate.name, format = "--crate-name=%s")
    flags.add(crate.type, format = "--crate-type=%s")
    error_format = "human"
    if use_json_output:
        flags.add("--json=artifacts,diagnostic-rendered-ansi")
        error_format = "json"
    flags.add(error_format, format = "--error-format=%s")
    if output_hash:
        flags.add(output_hash, format = "--codegen=metadata=-%s")
        flags.add(output_hash, format = "--codegen=extra-filename=-%s")
    flags.add(crate.output.dirname, format = "--out-dir=%s")
    mode = _COMPILATION_MODE_OPTS[ctx.var["COMPILATION_MODE"]]
    flags.add(mode.opt_level, format = "--codegen=opt-level=%s")
    flags.add(mode.debug_info, format = "--codegen=debuginfo=%s")
    flags.add(mode.strip_level, format = "--codegen=strip=%s")
    flags.add("--remap-path-prefix=${pwd}=.")
    plain_emit = []
    for kind in emit:
        if kind == "link" and crate.type == "bin":
            flags.add(crate.output, format = "--emit=link=%s")
        else:
            plain_emit.append(kind)
    if plain_emit:
        flags.add_joined(plain_emit, join_with = ",", format_joined = "--emit=%s")
    if error_format != "json":
        flags.add("--color=always")
    flags.add(TARGET_TRIPLE, format = "--target=%s")
    flags.add_all(ctx.attr.crate_features, before_each = "--cfg", format_each = "feature=\"%s\"")
    flags.add(crate.edition, format = "--edition=%s")
    flags.add_all(
        dep_info.direct_crates,
        map_each = _extern_metadata if use_metadata else _extern_rlib,
    )
    flags.add_all(
        dep_info.transitive_crates,
        map_each = _crate_dirname,
        uniquify = True,
        format_each = "-Ldependency=%s",
    )
    flags.add(_sysroot(rustc), format = "--sysroot=%s")
    flags.add_all(ctx.attr.rustc_flags)

    return [pw_flags, rustc_path, flags]

def _compile_inputs(ctx, crate_root, dep_info, use_metadata):
    deps = dep_info.transitive_metadata_outputs if use_metadata else dep_info.transitive_crate_outputs
    return depset(
        [crate_root] + ctx.files.srcs + ctx.files.compile_data,
        transitive = [deps, ctx.attr._toolchain_files.files],
    )

def _progress(ctx, kind, crate_type):
    version = "" if ctx.attr.version == "0.0.0" else " v" + ctx.attr.version
    return "Compiling Rust {}{} {}{} ({} files)".format(
        kind,
        crate_type,
        ctx.label.name,
        version,
        len(ctx.files.srcs),
    )

def _rust_library_impl(ctx):
    crate_name = _crate_name(ctx)
    root = _crate_root(ctx, ["lib.rs"])
    output_hash = _output_hash(ctx, root)
    pipelined = ctx.attr._pipelined_compilation[BoolSettingInfo].value
    rlib = ctx.actions.declare_file("lib{}-{}.rlib".format(crate_name, output_hash))
    rmeta = None
    if pipelined:
        rmeta = ctx.actions.declare_file(
            "lib{}-{}.rmeta".format(crate_name, output_hash),
            sibling = rlib,
        )
    crate = CrateInfo(
        name = crate_name,
        type = "rlib",
        root = root,
        output = rlib,
        metadata = rmeta,
        edition = ctx.attr.edition,
    )
    dep_info = _collect_deps(ctx.attr.deps)

    # Libraries compile against their dependencies' metadata (when it exists).
    inputs = _compile_inputs(ctx, root, dep_info, use_metadata = True)
    env = _rustc_env(ctx, crate_name)

    # The same emit set for both actions, so that rustc accepts the .rmeta and the .rlib
    # of one crate as the same crate (its SVH depends on the flags).
    emit = ["dep-info", "link"] + (["metadata"] if pipelined else [])

    ctx.actions.run(
        executable = ctx.executable._process_wrapper,
        inputs = inputs,
        outputs = [rlib],
        env = env,
        arguments = _construct_arguments(
            ctx,
            crate,
            dep_info,
            output_hash,
            emit,
            use_json_output = pipelined,
            build_metadata = False,
            use_metadata = True,
        ),
        mnemonic = "Rustc",
        progress_message = _progress(ctx, "", "rlib"),
    )
    if pipelined:
        ctx.actions.run(
            executable = ctx.executable._process_wrapper,
            inputs = inputs,
            outputs = [rmeta],
            env = env,
            arguments = _construct_arguments(
                ctx,
                crate,
                dep_info,
                output_hash,
                emit,
                use_json_output = True,
                build_metadata = True,
                use_metadata = True,
            ),
            mnemonic = "RustcMetadata",
            progress_message = _progress(ctx, "metadata ", "rlib"),
        )

    return [
        crate,
        dep_info,
        DefaultInfo(files = depset([rlib])),
        OutputGroupInfo(build_metadata = depset([rmeta] if rmeta else [])),
    ]

def _rust_binary_impl(ctx):
    crate_name = _crate_name(ctx)
    root = _crate_root(ctx, ["main.rs"])
    out = ctx.actions.declare_file(ctx.label.name)
    crate = CrateInfo(
        name = crate_name,
        type = "bin",
        root = root,
        output = out,
        metadata = None,
        edition = ctx.attr.edition,
    )
    dep_info = _collect_deps(ctx.attr.deps)
    ctx.actions.run(
        executable = ctx.executable._process_wrapper,
        inputs = _compile_inputs(ctx, root, dep_info, use_metadata = False),
        outputs = [out],
        env = _rustc_env(ctx, crate_name),
        arguments = _construct_arguments(
            ctx,
            crate,
            dep_info,
            None,
            ["dep-info", "link"],
            use_json_output = False,
            build_metadata = False,
            use_metadata = False,
        ),
        mnemonic = "Rustc",
        progress_message = _progress(ctx, "", "bin"),
    )
    return [
        DefaultInfo(files = depset([out]), executable = out),
    ]

_COMMON_ATTRS = {
    "srcs": attr.label_list(allow_files = [".rs"], doc = "Rust sources."),
    "crate_root": attr.label(allow_single_file = [".rs"], doc = "Defaults to lib.rs / main.rs."),
    "crate_name": attr.string(doc = "Defaults to the target name with - replaced by _."),
    "deps": attr.label_list(providers = [CrateInfo, DepInfo]),
    "edition": attr.string(default = "2021"),
    "crate_features": attr.string_list(doc = "Passed as --cfg feature=\"...\"."),
    "rustc_flags": attr.string_list(doc = "Extra rustc flags (e.g. --cfg values a build script would print)."),
    "rustc_env": attr.string_dict(doc = "Extra environment variables for rustc."),
    "version": attr.string(default = "0.0.0"),
    "compile_data": attr.label_list(allow_files = True),
    "cargo_manifest_dir": attr.string(
        doc = "CARGO_MANIFEST_DIR relative to the package (rules_rust uses the package itself).",
    ),
    "_process_wrapper": attr.label(
        default = Label("//rust:process_wrapper"),
        executable = True,
        cfg = "exec",
    ),
    "_rustc": attr.label(
        default = Label("@rust_toolchain//:rustc"),
        allow_single_file = True,
        cfg = "exec",
    ),
    "_toolchain_files": attr.label(
        default = Label("@rust_toolchain//:all_files"),
        cfg = "exec",
    ),
}

rust_library = rule(
    implementation = _rust_library_impl,
    attrs = dict(_COMMON_ATTRS, **{
        "_pipelined_compilation": attr.label(
            default = Label("//rust/settings:pipelined_compilation"),
        ),
    }),
    provides = [CrateInfo, DepInfo],
    doc = "An rlib crate, built like rules_rust's rust_library.",
)

rust_binary = rule(
    implementation = _rust_binary_impl,
    attrs = _COMMON_ATTRS,
    executable = True,
    doc = "A binary crate, linked by rustc (which runs `cc`) like rules_rust's rust_binary.",
)

def _process_wrapper_impl(ctx):
    rustc = ctx.file._rustc
    out = ctx.actions.declare_file(ctx.label.name)
    args = ctx.actions.args()
    args.add(ctx.file.src)
    args.add("--crate-name=process_wrapper")
    args.add("--crate-type=bin")
    args.add("--edition=2021")
    args.add("--codegen=opt-level=1")
    args.add("--codegen=debuginfo=0")
    args.add(out, format = "--emit=link=%s")
    args.add(TARGET_TRIPLE, format = "--target=%s")
    args.add(_sysroot(rustc), format = "--sysroot=%s")
    ctx.actions.run(
        executable = rustc,
        arguments = [args],
        inputs = depset([ctx.file.src], transitive = [ctx.attr._toolchain_files.files]),
        outputs = [out],
        env = {"PATH": DEFAULT_PATH},
        mnemonic = "RustcBootstrap",
        progress_message = "Compiling Rust (without process_wrapper) bin " + ctx.label.name,
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

process_wrapper_binary = rule(
    implementation = _process_wrapper_impl,
    attrs = {
        "src": attr.label(allow_single_file = [".rs"], mandatory = True),
        "_rustc": attr.label(
            default = Label("@rust_toolchain//:rustc"),
            allow_single_file = True,
            cfg = "exec",
        ),
        "_toolchain_files": attr.label(
            default = Label("@rust_toolchain//:all_files"),
            cfg = "exec",
        ),
    },
    executable = True,
    doc = "Builds the process wrapper from source with the toolchain's rustc (no wrapper).",
)
