import * as path from 'node:path';

/** One dependency named with `--extern name=path`. */
export interface Extern {
  name: string;
  path: string;
}

/** A compile Cargo asked for, as far as running it elsewhere needs to know. */
export interface RustcInvocation {
  /** The rustc Cargo named (argv[1] of the wrapper). */
  rustc: string;
  /** The arguments after it, unchanged. */
  args: string[];
  crateName: string;
  crateTypes: string[];
  emit: string[];
  /** Absolute. */
  outDir: string;
  extraFilename: string;
  /** The crate root, absolute. */
  source: string;
  externs: Extern[];
  /** -L [KIND=]PATH, absolute paths with their kind. */
  searchPaths: { kind: string; path: string }[];
  /** `--target`, if any (its sysroot libraries are inputs). */
  target?: string;
  /** --remap-path-prefix FROM=TO pairs, in order. */
  remaps: { from: string; to: string }[];
  /** True when rustc links (bin, proc-macro, dylib, cdylib, staticlib, or --test). */
  links: boolean;
  test: boolean;
  /** `-C incremental=DIR`: its session directory cannot be shipped or cached, so the compile runs locally. */
  incremental: boolean;
}

export const INCREMENTAL_REASON = 'incremental compilation (CARGO_INCREMENTAL=0 or profile incremental = false sends it remote)';

/** Why a rustc call is not sent to the backend. */
export type LocalReason = string;

/**
 * Classifies the arguments Cargo passes to rustc: a compile we can run remotely (a RustcInvocation), or the reason it
 * stays local (queries such as -vV and --print, incremental compiles, output shapes we do not model).
 */
export function parseInvocation(rustc: string, args: string[], cwd: string): RustcInvocation | { local: LocalReason } {
  let crateName: string | undefined;
  const crateTypes: string[] = [];
  let emit: string[] = [];
  let outDir: string | undefined;
  let extraFilename = '';
  const sources: string[] = [];
  const externs: Extern[] = [];
  const searchPaths: { kind: string; path: string }[] = [];
  const remaps: { from: string; to: string }[] = [];
  let target: string | undefined;
  let test = false;
  let incremental = false;
  let linkerFlag: string | undefined;
  const abs = (p: string) => path.resolve(cwd, p);
  // Flags that take a value as the next argument (or as --flag=value).
  const valued = new Set(['--crate-name', '--crate-type', '--emit', '--out-dir', '-o', '--extern', '-L', '--target', '--edition', '--cfg', '--check-cfg', '-C', '--codegen', '--cap-lints', '-A', '-W', '-D', '-F', '--allow', '--warn', '--deny', '--forbid', '--force-warn', '--error-format', '--json', '--remap-path-prefix', '--sysroot', '-l', '--print', '--explain', '--color', '--diagnostic-width', '--crate-attr', '-Z', '--env-set']);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('@')) return { local: 'an @argfile (its arguments are not inspected)' };
    if (a === '-' ) return { local: 'source from stdin (a probe)' };
    let flag = a;
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0 && valued.has(a.slice(0, eq))) [flag, value] = [a.slice(0, eq), a.slice(eq + 1)];
    else if (/^-[CLlAWDFZ]./.test(a)) [flag, value] = [a.slice(0, 2), a.slice(2)];
    else if (valued.has(a)) value = args[++i];
    else if (a.startsWith('-')) {
      if (a === '--test') test = true;
      if (a === '-V' || a === '-vV' || a === '--version' || a === '-h' || a === '--help') return { local: 'a query' };
      continue;
    } else {
      sources.push(a);
      continue;
    }
    if (value === undefined) return { local: `${flag} without a value` };
    switch (flag) {
      case '--crate-name': crateName = value; break;
      case '--crate-type': crateTypes.push(...value.split(',')); break;
      case '--emit': emit = value.split(',').map((e) => e.trim()); break;
      case '--out-dir': outDir = abs(value); break;
      case '-o': return { local: '-o (cargo passes --out-dir)' };
      case '--print': return { local: 'a --print query' };
      case '--explain': return { local: 'a query' };
      case '--target': target = value; break;
      case '--sysroot': return { local: '--sysroot (the toolchain is found from the rustc binary)' };
      case '--remap-path-prefix': {
        const j = value.lastIndexOf('=');
        if (j < 0) return { local: `--remap-path-prefix ${value} has no "="` };
        remaps.push({ from: value.slice(0, j), to: value.slice(j + 1) });
        break;
      }
      case '--extern': {
        const j = value.indexOf('=');
        if (j > 0) externs.push({ name: value.slice(0, j).replace(/^[a-z-,]+:/, ''), path: abs(value.slice(j + 1)) });
        break;
      }
      case '-L': {
        const j = value.indexOf('=');
        const kind = j > 0 && /^(dependency|crate|native|framework|all)$/.test(value.slice(0, j)) ? value.slice(0, j) : 'all';
        searchPaths.push({ kind, path: abs(kind === 'all' && j < 0 ? value : value.slice(j + 1)) });
        break;
      }
      case '-C': {
        const [k, v] = splitOnce(value);
        if (k === 'extra-filename') extraFilename = v ?? '';
        if (k === 'incremental') incremental = true;
        // Linker flags only matter to a compile that links (checked below): a library compile ignores them.
        if (k === 'linker' || k === 'link-arg' || k === 'link-args') linkerFlag ??= k;
        if (k === 'save-temps' || k === 'split-debuginfo' || k === 'profile-generate' || k === 'profile-use') {
          return { local: `-C ${k} (not modelled by the remote path)` };
        }
        break;
      }
      case '-Z': return { local: `-Z ${value} (unstable options are not modelled by the remote path)` };
      default: break;
    }
  }
  if (!crateName) return { local: 'no --crate-name (not a compile Cargo issues)' };
  if (sources.length !== 1) return { local: sources.length === 0 ? 'no source file' : 'more than one source file' };
  if (!outDir) return { local: 'no --out-dir' };
  if (emit.length === 0) emit = ['link'];
  const known = new Set(['dep-info', 'metadata', 'link']);
  const other = emit.find((e) => !known.has(e.split('=')[0]) || e.includes('='));
  if (other) return { local: `--emit ${other} (only dep-info, metadata and link are modelled)` };
  const types = crateTypes.length ? crateTypes : ['bin'];
  const unknownType = types.find((t) => !['lib', 'rlib', 'bin', 'proc-macro'].includes(t));
  if (unknownType) return { local: `crate type ${unknownType} (only lib, rlib, bin and proc-macro are modelled)` };
  const links = test || types.some((t) => t !== 'lib' && t !== 'rlib');
  if (linkerFlag && links) return { local: `-C ${linkerFlag} on a compile that links: the link runs here, with this machine's linker (a DTLTO link's distributor sends its backend compiles to the pool)` };
  return {
    rustc,
    args,
    crateName,
    crateTypes: types,
    emit,
    outDir,
    extraFilename,
    source: abs(sources[0]),
    externs,
    searchPaths,
    target,
    remaps,
    links,
    test,
    incremental,
  };
}

/** The files rustc writes for this invocation (absolute), by emit kind. */
export function expectedOutputs(inv: RustcInvocation): { depInfo?: string; rmeta?: string; rlib?: string; linked?: string } {
  const stem = `${inv.crateName}${inv.extraFilename}`;
  const out = (name: string) => path.join(inv.outDir, name);
  const lib = !inv.test && inv.crateTypes.some((t) => t === 'lib' || t === 'rlib');
  const emits = new Set(inv.emit);
  return {
    depInfo: emits.has('dep-info') ? out(`${stem}.d`) : undefined,
    rmeta: emits.has('metadata') ? out(`lib${stem}.rmeta`) : undefined,
    rlib: emits.has('link') && lib ? out(`lib${stem}.rlib`) : undefined,
    linked: emits.has('link') && !lib ? out(inv.crateTypes.includes('proc-macro') && !inv.test ? `lib${stem}.so` : stem) : undefined,
  };
}

function splitOnce(s: string): [string, string | undefined] {
  const i = s.indexOf('=');
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** The kind RUSTEXEC_LOG reports: lib, proc-macro, bin, build-script or test. */
export function compileKind(inv: RustcInvocation): string {
  if (inv.test) return 'test';
  if (inv.crateName.startsWith('build_script_')) return 'build-script';
  if (inv.crateTypes.includes('proc-macro')) return 'proc-macro';
  return inv.links ? 'bin' : 'lib';
}
