import * as path from 'node:path';
import { REv2 } from '../proto';
import type { RustActionKind } from './rust-action-kind';

export type { RustActionKind };

export interface RustcCommand {
  kind: RustActionKind;
  crateName?: string;
  /** The `.rmeta` output (relative to the working directory) of a metadata or rlib action. */
  rmetaPath?: string;
  /** The `.rlib` output (declared by an rlib action; inferred next to the `.rmeta` for a metadata action). */
  rlibPath?: string;
  /**
   * A metadata action that writes a hollow rlib (`-Zno-codegen`: Buck2's metadata-full, rules_rust's
   * no-codegen pipelining). It runs a different command from its crate's rlib action, so it is never fused;
   * `rmetaPath` is the hollow rlib.
   */
  hollow?: boolean;
  /** The `@file` argument handed to rustc (a pipelined pair differs only in its name, not its content). */
  paramFile?: string;
  /** argv with the quit flag removed and the param file replaced by a placeholder: equal for both actions of a pair. */
  pairArgv?: string[];
}

const QUIT_FLAG = '--rustc-quit-on-rmeta';

/** Declared outputs: output_paths when set, else the deprecated output_files + output_directories. */
export function declaredOutputs(c: REv2.ICommand): string[] {
  return c.outputPaths?.length ? [...c.outputPaths] : [...(c.outputFiles ?? []), ...(c.outputDirectories ?? [])];
}

/**
 * Recognises rustc actions from the Command alone: a rules_rust-style `process_wrapper … -- rustc …` (or rustc run
 * directly), classified by what it declares as outputs. Anything else, or anything ambiguous, is "other" and runs
 * exactly as before.
 */
export function classifyCommand(c: REv2.ICommand): RustcCommand {
  const argv = c.arguments ?? [];
  if (argv.length === 0) return { kind: 'other' };
  const cargo = classifyCargoWrapperCommand(c, argv);
  if (cargo) return cargo;
  const sep = argv.indexOf('--');
  const wrapped = sep > 0 && /process_wrapper(\.exe)?$/.test(path.basename(argv[0]));
  const rustcAt = wrapped ? sep + 1 : 0;
  if (!/^rustc(\.exe)?$/.test(path.basename(argv[rustcAt] ?? ''))) return { kind: 'other' };
  const wrapperFlags = wrapped ? argv.slice(1, sep) : [];
  const rustcArgs = argv.slice(rustcAt + 1);
  const quit = wrapperFlags.some((f, i) => f === QUIT_FLAG && wrapperFlags[i + 1] === 'true');
  const outputs = declaredOutputs(c);
  const rmetas = outputs.filter((o) => o.endsWith('.rmeta'));
  const rlibs = outputs.filter((o) => o.endsWith('.rlib'));
  const paramFiles = rustcArgs.filter((a) => a.startsWith('@'));
  // rules_rust keeps --crate-name in the param file; the output name `lib<name>-<hash>.rlib` carries it too.
  const crateName = flagValue(rustcArgs, '--crate-name') ?? /^lib(.+?)(-[^-]*)?\.(rlib|rmeta)$/.exec(path.basename(rmetas[0] ?? rlibs[0] ?? ''))?.[1];
  const base = { crateName, paramFile: paramFiles.length === 1 ? paramFiles[0].slice(1) : undefined };

  if (rlibs.length === 1 && outputs.every((o) => o === rlibs[0] || o.endsWith('.d')) && isHollow(rustcArgs, rlibs[0], c)) {
    return { kind: 'rustc-metadata', ...base, hollow: true, rmetaPath: rlibs[0] };
  }
  if (quit && rmetas.length === 1 && outputs.length === 1) {
    const rmetaPath = rmetas[0];
    return { kind: 'rustc-metadata', ...base, rmetaPath, rlibPath: rmetaPath.replace(/\.rmeta$/, '.rlib'), pairArgv: pairArgv(argv, base.paramFile) };
  }
  if (quit) return { kind: 'other' }; // A quit flag without a single .rmeta output: not a shape we know.
  if (rlibs.length === 1) {
    const rlibPath = rlibs[0];
    return { kind: 'rustc-rlib', ...base, rlibPath, rmetaPath: rlibPath.replace(/\.rlib$/, '.rmeta'), pairArgv: pairArgv(argv, base.paramFile) };
  }
  if (outputs.some((o) => /\.(so|dylib|dll)$/.test(o)) && (flagValue(rustcArgs, '--crate-type') ?? 'proc-macro') === 'proc-macro') return { kind: 'rustc-proc-macro', ...base };
  if (outputs.length >= 1 && outputs.every((o) => !/\.(rlib|rmeta|so|dylib|dll|a)$/.test(o))) return { kind: 'rustc-bin', ...base };
  return { kind: 'other' };
}

/** What bin/rustexec-rustc sends: `/bin/sh -c SCRIPT rustexec-rustc CWD MOUNT... -- RUSTC ARGS...` (src/cargo/sandbox-command.ts). */
const CARGO_MARKER = 'rustexec-rustc';

/**
 * The Cargo wrapper's compiles. A pipelined library compile is sent twice with the same argv: the full action declares
 * the .rlib, the metadata action only dep-info and the .rmeta. Both are the same rustc run, so they pair (and fuse)
 * with no flag to strip.
 */
function classifyCargoWrapperCommand(c: REv2.ICommand, argv: string[]): RustcCommand | undefined {
  if (!/(^|\/)sh$/.test(argv[0]) || argv[1] !== '-c' || argv[3] !== CARGO_MARKER) return undefined;
  const sep = argv.indexOf('--', 5);
  if (sep < 0 || !/^rustc(\.exe)?$/.test(path.basename(argv[sep + 1] ?? ''))) return { kind: 'other' };
  const rustcArgs = argv.slice(sep + 2);
  const outputs = declaredOutputs(c);
  const rmetas = outputs.filter((o) => o.endsWith('.rmeta'));
  const rlibs = outputs.filter((o) => o.endsWith('.rlib'));
  const crateName = flagValue(rustcArgs, '--crate-name');
  const emit = (flagValue(rustcArgs, '--emit') ?? '').split(',');
  const crateType = flagValue(rustcArgs, '--crate-type') ?? 'bin';
  if (rlibs.length === 1 && rmetas.length <= 1) {
    return { kind: 'rustc-rlib', crateName, rlibPath: rlibs[0], rmetaPath: rlibs[0].replace(/\.rlib$/, '.rmeta'), pairArgv: argv };
  }
  if (rmetas.length === 1 && rlibs.length === 0 && emit.includes('link') && (crateType === 'lib' || crateType === 'rlib')) {
    return { kind: 'rustc-metadata', crateName, rmetaPath: rmetas[0], rlibPath: rmetas[0].replace(/\.rmeta$/, '.rlib'), pairArgv: argv };
  }
  if (crateType === 'proc-macro' && outputs.some((o) => o.endsWith('.so'))) return { kind: 'rustc-proc-macro', crateName };
  if (outputs.length >= 1 && outputs.every((o) => !/\.(rlib|rmeta|so|dylib|dll|a)$/.test(o))) return { kind: 'rustc-bin', crateName };
  return { kind: 'other' };
}

/** The command a metadata action's partner would run: the same invocation without `--rustc-quit-on-rmeta true`. */
export function withoutQuitFlag(argv: string[]): string[] {
  const i = argv.indexOf(QUIT_FLAG);
  const sep = argv.indexOf('--');
  if (i < 0 || (sep >= 0 && i > sep) || argv[i + 1] !== 'true') return argv;
  const out = argv.slice(0, i);
  for (let j = i + 2; j < argv.length; j++) out.push(argv[j]);
  return out;
}

function pairArgv(argv: string[], paramFile: string | undefined): string[] {
  return withoutQuitFlag(argv).map((a) => (paramFile !== undefined && a === `@${paramFile}` ? '@<params>' : a));
}

/**
 * `-Zno-codegen` on the command line (Buck2), or, when rustc's flags sit in a param file the Command does not show,
 * rules_rust's shape: a single `…-hollow.rlib` output with RUSTC_BOOTSTRAP=1 (which -Z flags need on stable rustc).
 */
function isHollow(rustcArgs: string[], rlib: string, c: REv2.ICommand): boolean {
  if (rustcArgs.some((a, i) => a === '-Zno-codegen' || (a === '-Z' && rustcArgs[i + 1] === 'no-codegen'))) return true;
  const bootstrap = (c.environmentVariables ?? []).some((v) => v.name === 'RUSTC_BOOTSTRAP' && v.value === '1');
  return bootstrap && /-hollow\.rlib$/.test(rlib);
}

function flagValue(args: string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}
