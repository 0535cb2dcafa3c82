import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSysroot, toolchainFiles } from '../../src/cargo/toolchain';
import { hashToolchainOnce } from '../../src/cargo/toolchain-once';
import { SHA256 } from '../../src/digest/digest-function';

/** The repository root (this file compiles to dist/test/cargo/). */
export const REPO = path.resolve(__dirname, '../../..');
export const WRAPPER = path.join(REPO, 'bin/rustexec-rustc');
export const FIXTURE = path.join(REPO, 'test/fixtures/cargo-workspace');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (server processes of the test keep draining their pipes). */
export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Own process group, so a timeout kills cargo with its rustc wrappers (a build that hangs must fail the test).
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs} ms]`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs ?? 600_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A copy of the fixture workspace (sources and lock file, no target/) at `dir`. */
export async function copyWorkspace(dir: string, from = FIXTURE): Promise<string> {
  await fsp.cp(from, dir, { recursive: true, filter: (src) => !src.split(path.sep).includes('target') });
  return dir;
}

/**
 * A small workspace without registry dependencies, built in seconds: crates a ← b ← app (a binary printing 42). With
 * `broken`, crate a has a type error (and an unused variable warning). With `pathsAndMacros`, a also has a build script
 * whose generated code it includes from OUT_DIR and embeds absolute paths (file!(), CARGO_MANIFEST_DIR), and b uses a
 * proc-macro crate m: every compile kind, with paths rustc writes into the outputs.
 */
export async function smallWorkspace(dir: string, opts: { broken?: boolean; pathsAndMacros?: boolean } = {}): Promise<string> {
  const write = async (rel: string, text: string) => {
    await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fsp.writeFile(path.join(dir, rel), text);
  };
  const full = !!opts.pathsAndMacros;
  await write('Cargo.toml', `[workspace]\nmembers = ["a", "b", "app"${full ? ', "m"' : ''}]\nresolver = "2"\n[profile.dev]\nincremental = false\ndebug = 0\n`);
  await write('a/Cargo.toml', '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n');
  if (opts.broken) {
    await write('a/src/lib.rs', 'pub fn a() -> u32 { let unused = 1; "not a number" }\n');
  } else if (full) {
    await write('a/build.rs', 'fn main() {\n    let out = std::env::var("OUT_DIR").unwrap();\n    std::fs::write(format!("{out}/forty.rs"), "pub const FORTY: u32 = 40;\\n").unwrap();\n}\n');
    await write('a/src/lib.rs', 'include!(concat!(env!("OUT_DIR"), "/forty.rs"));\npub fn a() -> u32 { FORTY }\npub fn whence() -> (&\'static str, &\'static str) { (file!(), env!("CARGO_MANIFEST_DIR")) }\n');
  } else {
    await write('a/src/lib.rs', 'pub fn a() -> u32 { 40 }\n#[cfg(test)]\nmod t {\n    #[test]\n    fn forty() { assert_eq!(super::a(), 40); }\n}\n');
  }
  await write('b/Cargo.toml', `[package]\nname = "b"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\na = { path = "../a" }\n${full ? 'm = { path = "../m" }\n' : ''}`);
  await write('b/src/lib.rs', full ? 'm::two!();\npub fn b() -> u32 { a::a() + two() }\npub fn whence() -> (&\'static str, &\'static str) { a::whence() }\n' : 'pub fn b() -> u32 { a::a() + 2 }\n');
  if (full) {
    await write('m/Cargo.toml', '[package]\nname = "m"\nversion = "0.1.0"\nedition = "2021"\n[lib]\nproc-macro = true\n');
    await write('m/src/lib.rs', 'use proc_macro::TokenStream;\n#[proc_macro]\npub fn two(_: TokenStream) -> TokenStream { "pub fn two() -> u32 { 2 }".parse().unwrap() }\n');
  }
  await write('app/Cargo.toml', '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nb = { path = "../b" }\n');
  await write('app/src/main.rs', full ? 'fn main() { println!("{} {:?}", b::b(), b::whence()); }\n' : 'fn main() { println!("{}", b::b()); }\n');
  return dir;
}

/** A digest cache (RUSTEXEC_CACHE_DIR's file-digests) that knows the local toolchain: `dir`/file-digests. */
export async function toolchainDigestSeed(dir: string): Promise<string> {
  const file = path.join(dir, 'file-digests');
  await hashToolchainOnce(file, SHA256, (await toolchainFiles(await findSysroot('rustc'))).files);
  return file;
}

/** A fresh RUSTEXEC_CACHE_DIR at `dir` whose digest cache starts as a copy of `seed` (no re-hashing the toolchain). */
export async function seededCacheDir(dir: string, seed: string): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  await fsp.copyFile(seed, path.join(dir, 'file-digests'));
  return dir;
}

export async function tempDir(name: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `rustexec-${name}-`));
}

/** The environment of a Cargo build through the wrapper. */
export function wrapperEnv(address: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, RUSTC_WRAPPER: WRAPPER, RUSTEXEC_REMOTE: `grpc://${address}`, CARGO_TERM_COLOR: 'never', ...extra };
}

export interface LogLine {
  crate: string;
  kind: string;
  remote: 'executed' | 'cached' | 'local';
  ms: number;
  start: number;
  end: number;
  rmetaAt?: number;
  externs?: string[];
  reason?: string;
  exitCode?: number;
}

export async function readLog(file: string): Promise<LogLine[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
}

/** Every regular file under `dir` (relative paths), for output comparisons. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}
