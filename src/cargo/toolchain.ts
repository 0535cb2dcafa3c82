import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { InputFileError } from '../client/file-digests';

/** The toolchain files a compile needs on the worker, and the paths the sandbox binds them at. */
export interface Toolchain {
  sysroot: string;
  /** The real rustc binary (not a rustup proxy). */
  rustc: string;
  files: string[];
  mounts: string[];
}

/**
 * The sysroot of the rustc Cargo named: next to the binary when that is a real toolchain (Cargo passes the absolute
 * path of the toolchain's rustc), else asked from `rustc --print sysroot` (a rustup proxy on PATH).
 */
export async function findSysroot(rustc: string): Promise<string> {
  if (path.isAbsolute(rustc)) {
    const guess = path.dirname(path.dirname(rustc));
    if (await isDir(path.join(guess, 'lib', 'rustlib'))) return guess;
  }
  const { stdout } = await promisify(execFile)(rustc, ['--print', 'sysroot'], { encoding: 'utf8' });
  return stdout.trim();
}

/**
 * As the Bazel path ships it: bin/rustc, the compiler's shared libraries (lib/librustc_driver-*, lib/libLLVM*), and
 * for the host (and --target) triple the standard library plus the self-contained linker rustc ≥ 1.90 uses
 * (lib/rustlib/<triple>/bin/rust-lld and gcc-ld/). A missing piece is an error naming the file.
 */
export async function toolchainFiles(sysroot: string, target?: string): Promise<Toolchain> {
  const rustc = path.join(sysroot, 'bin', 'rustc');
  await mustExist(rustc);
  const lib = path.join(sysroot, 'lib');
  const libs = (await readdirOrThrow(lib)).filter((n) => /^lib(rustc_driver|LLVM|std-|test-)/.test(n)).map((n) => path.join(lib, n));
  if (!libs.some((f) => path.basename(f).startsWith('librustc_driver'))) throw new InputFileError(path.join(lib, 'librustc_driver-*.so'), Object.assign(new Error('no such file'), { code: 'ENOENT' }));
  const rustlib = path.join(lib, 'rustlib');
  const triples = new Set<string>();
  for (const t of await readdirOrThrow(rustlib)) if (await isDir(path.join(rustlib, t, 'lib'))) triples.add(t);
  const wanted = target ? [target] : [];
  // The host triple is the one with the linker in its bin/; a --target adds its own library directory.
  const hostTriples: string[] = [];
  for (const t of triples) if (await isDir(path.join(rustlib, t, 'bin'))) hostTriples.push(t);
  const use = [...new Set([...(hostTriples.length ? hostTriples : [...triples]), ...wanted])];
  const files = [rustc, ...libs];
  const mounts = [rustc, ...libs];
  for (const t of use) {
    const dir = path.join(rustlib, t);
    if (!(await isDir(path.join(dir, 'lib')))) throw new InputFileError(path.join(dir, 'lib'), Object.assign(new Error('no such directory'), { code: 'ENOENT' }));
    files.push(...(await filesUnder(path.join(dir, 'lib'), (n) => /\.(rlib|rmeta|so)$/.test(n))));
    for (const linker of ['bin/rust-lld', 'bin/gcc-ld']) {
      const p = path.join(dir, linker);
      if (await exists(p)) files.push(...(await filesUnder(p, () => true)));
    }
    mounts.push(dir);
  }
  return { sysroot, rustc, files, mounts };
}

/** Regular files under `p` (or `p` itself), recursively, whose names pass `keep`. */
export async function filesUnder(p: string, keep: (name: string) => boolean): Promise<string[]> {
  const st = await fsp.stat(p).catch((err) => {
    throw new InputFileError(p, err as NodeJS.ErrnoException);
  });
  if (st.isFile()) return keep(path.basename(p)) ? [p] : [];
  const out: string[] = [];
  for (const e of await readdirOrThrow(p)) out.push(...(await filesUnder(path.join(p, e), keep)));
  return out;
}

async function readdirOrThrow(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch (err) {
    throw new InputFileError(dir, err as NodeJS.ErrnoException);
  }
}

async function mustExist(p: string): Promise<void> {
  await fsp.access(p).catch((err) => {
    throw new InputFileError(p, err as NodeJS.ErrnoException);
  });
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(() => true, () => false);
}

async function isDir(p: string): Promise<boolean> {
  return fsp.stat(p).then((s) => s.isDirectory(), () => false);
}
