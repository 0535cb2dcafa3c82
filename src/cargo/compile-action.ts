import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Digest } from '../digest/digest';
import { FileDigests } from '../client/file-digests';
import { InputTreeBuilder, UploadBlob } from '../client/input-tree';
import { re } from '../proto';
import { DepCrate, dependencyClosure } from './dependency-record';
import { expectedOutputs, RustcInvocation } from './rustc-invocation';
import { PathMap } from './path-map';
import { minimalMounts, sandboxArgv } from './sandbox-command';
import { filesUnder, Toolchain } from './toolchain';

/** Environment variables Cargo sets that must not reach the action: they differ per build or per machine. */
const VOLATILE_ENV = new Set(['CARGO_MAKEFLAGS', 'CARGO_HOME', 'CARGO']);

/** One REAPI action of a compile (the full compile, or the metadata-only view of the same run). */
export interface ActionBlobs {
  digest: Digest;
  /** Output paths (absolute on this machine) by their path in the result. */
  outputs: Map<string, string>;
}

/** Everything needed to run one Cargo compile remotely. */
export interface CompileAction {
  /** The full compile: declares dep-info, .rmeta, .rlib or the linked file. */
  full: ActionBlobs;
  /** For a library with pipelining: the same command declaring only dep-info and the .rmeta (fused with `full`). */
  metadata?: ActionBlobs;
  /** Input files, Directories, Commands and Actions. */
  blobs: UploadBlob[];
  /** The dependency closure to record for dependents once the compile succeeded. */
  closure: DepCrate[];
  closureComplete: boolean;
  env: Record<string, string>;
  inputFiles: number;
  /** Maps what the action wrote (dep-info, stderr) back to local paths. */
  paths: PathMap;
}

/** Builds the action(s) for a compile: inputs from the package, OUT_DIR, dependency closure and toolchain. */
export async function buildCompileAction(inv: RustcInvocation, cwd: string, env: NodeJS.ProcessEnv, toolchain: Toolchain, digests: FileDigests): Promise<CompileAction> {
  const fn = digests.fn;
  const files = new Set<string>();
  const mounts = new Set<string>([cwd, inv.outDir]);
  const manifestDir = env.CARGO_MANIFEST_DIR;
  if (manifestDir) {
    mounts.add(manifestDir);
    for (const f of await packageFiles(manifestDir, inv.outDir)) files.add(f);
  } else {
    files.add(inv.source);
  }
  const outDirEnv = env.OUT_DIR;
  if (outDirEnv) {
    mounts.add(outDirEnv);
    for (const f of await filesUnder(outDirEnv, () => true).catch(() => [])) files.add(f);
  }
  const { deps, complete } = await dependencyClosure(inv);
  for (const e of inv.externs) files.add(e.path);
  for (const d of deps) files.add(`${d.stem}.${d.procMacro ? 'so' : inv.links ? 'rlib' : 'rmeta'}`);
  if (!complete) {
    // A dependency built without the wrapper left no record: ship every library in the -L dependency directories.
    for (const sp of inv.searchPaths.filter((s) => s.kind === 'dependency' || s.kind === 'all')) {
      for (const n of await fsp.readdir(sp.path).catch(() => [])) if (/^lib.*\.(rlib|rmeta|so)$/.test(n)) files.add(path.join(sp.path, n));
    }
  }
  // Native libraries a build script left in the target directory (-L native=OUT_DIR and the like).
  for (const sp of inv.searchPaths.filter((s) => s.kind !== 'dependency' && !isSystemPath(s.path))) {
    for (const n of await fsp.readdir(sp.path).catch(() => [])) {
      const f = path.join(sp.path, n);
      if ((await fsp.stat(f).catch(() => undefined))?.isFile()) files.add(f);
    }
    mounts.add(sp.path);
  }
  // Toolchain files are bound one by one (a Debian rustc lives in /usr, which the sandbox must keep from the worker).
  for (const f of files) mounts.add(path.dirname(f));
  for (const f of toolchain.files) files.add(f);

  const paths = new PathMap(inv.remaps);
  const at = (p: string) => paths.toSandbox(p);
  const tree = new InputTreeBuilder(fn);
  for (const f of [...files].sort()) {
    const { digest, executable } = await digests.digest(f);
    tree.add(at(f).slice(1), digest, executable, { digest, file: f });
  }
  const { root, blobs } = tree.build();

  const actionEnv = Object.fromEntries(Object.entries(commandEnv(env)).map(([k, v]) => [k, v.startsWith('/') ? at(v) : v]));
  const argv = sandboxArgv(at(cwd), minimalMounts([...mounts, ...toolchain.mounts].map(at)), at(toolchain.rustc), paths.args(inv.args));
  const out = expectedOutputs(inv);
  const all: UploadBlob[] = [...blobs.values()];
  const action = (outputs: string[]): ActionBlobs => {
    const command = re.Command.create({
      arguments: argv,
      environmentVariables: Object.keys(actionEnv).sort().map((name) => ({ name, value: actionEnv[name] })),
      outputFiles: outputs.map((o) => at(o).slice(1)).sort(),
      workingDirectory: '',
    });
    const commandBlob = blobOf(re.Command, command, fn);
    const act = re.Action.create({ commandDigest: commandBlob.digest.toProto(), inputRootDigest: root.toProto(), salt: env.RUSTEXEC_SALT ? Buffer.from(env.RUSTEXEC_SALT) : undefined });
    const actionBlob = blobOf(re.Action, act, fn);
    all.push(commandBlob, actionBlob);
    return { digest: actionBlob.digest, outputs: new Map(outputs.map((o) => [at(o).slice(1), o])) };
  };
  const fullOutputs = [out.depInfo, out.rmeta, out.rlib, out.linked].filter((o): o is string => !!o);
  const full = action(fullOutputs);
  // Pipelining: a library compile that emits both .rmeta and .rlib gets a metadata view the backend fuses with it.
  const metadata = out.rmeta && out.rlib ? action([out.depInfo, out.rmeta].filter((o): o is string => !!o)) : undefined;
  return { full, metadata, blobs: all, closure: deps, closureComplete: complete, env: actionEnv, inputFiles: files.size, paths };
}

/**
 * What rustc may read from the environment: Cargo's CARGO_* package variables (env!("CARGO_PKG_VERSION")), OUT_DIR,
 * RUSTC_BOOTSTRAP, and the variables the package's build script set with cargo:rustc-env (read from its output file).
 * Per-build values (jobserver fds) and the user's own environment stay out, so the action digest is stable.
 */
export function commandEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if ((k.startsWith('CARGO_') && !VOLATILE_ENV.has(k)) || k === 'OUT_DIR' || k === 'RUSTC_BOOTSTRAP') out[k] = v;
  }
  for (const k of buildScriptEnvNames(env)) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}

/** Names set by `cargo:rustc-env=NAME=VALUE` in the build script output next to OUT_DIR (synchronously: tiny file). */
function buildScriptEnvNames(env: NodeJS.ProcessEnv): string[] {
  if (!env.OUT_DIR) return [];
  let text = '';
  try {
    text = readFileSync(path.join(path.dirname(env.OUT_DIR), 'output'), 'utf8');
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^cargo::?rustc-env=([^=]+)=/.exec(line);
    if (m) names.push(m[1]);
  }
  return names;
}

/**
 * A package's files as Cargo sees its package: everything under the manifest directory except version-control
 * metadata, nested packages (a directory with its own Cargo.toml) and target directories (CACHEDIR.TAG, or the one
 * holding `outDir`).
 */
export async function packageFiles(dir: string, outDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, top: boolean): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.map((e) => e.name));
    if (!top && (names.has('Cargo.toml') || names.has('CACHEDIR.TAG'))) return;
    if (outDir === d || outDir.startsWith(`${d}/`) && names.has('CACHEDIR.TAG')) return;
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name === '.git' || e.name === 'target') continue;
        await walk(p, false);
      } else if (e.isFile() || (e.isSymbolicLink() && (await fsp.stat(p).catch(() => undefined))?.isFile())) {
        out.push(p);
      }
    }
  };
  await walk(dir, true);
  return out;
}

function isSystemPath(p: string): boolean {
  return /^\/(usr|lib|lib32|lib64|libx32|bin|sbin|etc)(\/|$)/.test(p);
}

function blobOf<T>(type: { encode(m: T): { finish(): Uint8Array } }, message: T, fn: Digest['fn']): { digest: Digest; data: Buffer } {
  const data = Buffer.from(type.encode(message).finish());
  return { digest: Digest.compute(data, fn), data };
}

