import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processAlive } from '../../src/util/process-alive';

export { ALL_IN_ONE, ServerProcess, ServerProcessOptions, startServerProcess } from './server-process';

/**
 * Helpers to drive the real Bazel (Debian's 4.2.3) against our server from tests. Each workspace gets its own output
 * base and private HOME; `shutdown()` stops its Bazel server. Take `acquireBazelLock()` in every test that runs Bazel:
 * Bazel servers are memory-hungry JVMs, so at most BAZEL_TESTS_AT_ONCE (default 2) run at a time across the suite.
 */

export interface BazelWorkspace {
  /** The workspace directory (holds WORKSPACE and the test's files). */
  dir: string;
  /** Private scratch root: output base, HOME and logs live under it. */
  root: string;
  outputBase: string;
  home: string;
  /** Startup options used for every command (before the command name). */
  startupArgs: string[];
  /** Writes (or overwrites) files relative to the workspace. */
  write(files: Record<string, string>): Promise<void>;
  /** A fresh file path under the scratch root, e.g. for `--execution_log_json_file`. */
  scratchFile(name: string): string;
  /** Stops this workspace's Bazel server (safe to call when none runs). */
  shutdown(): Promise<void>;
  /** shutdown() and removes everything. */
  cleanup(): Promise<void>;
}

export interface MakeWorkspaceOptions {
  /** Extra startup options, e.g. `['--digest_function=SHA1']`. */
  startupArgs?: string[];
}

/**
 * Creates a temp workspace with `files` (a WORKSPACE file is added unless given). Build outputs never land in it:
 * use `--symlink_prefix=/` (see `buildFlags`) and ask `bazelInfo(ws, 'bazel-bin')` where outputs are.
 */
export async function makeWorkspace(files: Record<string, string>, options: MakeWorkspaceOptions = {}): Promise<BazelWorkspace> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-bazel-'));
  const dir = path.join(root, 'ws');
  const outputBase = path.join(root, 'output_base');
  const home = path.join(root, 'home');
  await Promise.all([fsp.mkdir(dir), fsp.mkdir(home)]);
  const ws: BazelWorkspace = {
    dir,
    root,
    outputBase,
    home,
    // max_idle_secs: a Bazel server orphaned by a crashed test exits by itself instead of piling up.
    startupArgs: [`--output_base=${outputBase}`, '--max_idle_secs=300', ...(options.startupArgs ?? [])],
    write: async (more) => {
      for (const [name, content] of Object.entries(more)) {
        const file = path.join(dir, name);
        await fsp.mkdir(path.dirname(file), { recursive: true });
        await fsp.writeFile(file, content);
      }
    },
    scratchFile: (name) => path.join(root, `${name}.${randomBytes(4).toString('hex')}`),
    shutdown: async () => {
      // Only if a server ever started here; `bazel shutdown` would otherwise start one just to stop it.
      if (await exists(path.join(outputBase, 'server'))) await runBazel(ws, ['shutdown'], { timeoutMs: 60_000 });
    },
    cleanup: async () => {
      await ws.shutdown().catch(() => undefined);
      // Bazel makes parts of the output base read-only; make them writable so rm can delete them.
      await chmodTree(root).catch(() => undefined);
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
  await ws.write({ WORKSPACE: `workspace(name = "rustexec_e2e")\n`, ...files });
  return ws;
}

export interface BazelResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunBazelOptions {
  /** Fail (reject) unless Bazel exits with one of these codes (default [0]); pass `null` to accept any exit. */
  expectExit?: number[] | null;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs `bazel <startup args> <args...>` in the workspace with a private HOME; rejects with Bazel's output on failure. */
export function runBazel(ws: BazelWorkspace, args: string[], options: RunBazelOptions = {}): Promise<BazelResult> {
  const expectExit = options.expectExit === undefined ? [0] : options.expectExit;
  const timeoutMs = options.timeoutMs ?? 180_000;
  return new Promise((resolve, reject) => {
    const child = spawn('bazel', [...ws.startupArgs, ...args], {
      cwd: ws.dir,
      env: { ...process.env, HOME: ws.home, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-200_000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bazel ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (expectExit && !expectExit.includes(code ?? -1)) {
        reject(new Error(`bazel ${args.join(' ')} exited with ${code} (expected ${expectExit.join(' or ')}):\n${stderr.slice(-6000)}`));
      } else resolve({ code, stdout, stderr });
    });
  });
}

/** `bazel info <key>` with the same flags a build used (the output path depends on them). */
export async function bazelInfo(ws: BazelWorkspace, key: string, flags: string[] = []): Promise<string> {
  return (await runBazel(ws, ['info', ...flags, key])).stdout.trim();
}

export interface BuildFlagsOptions {
  /** Port of our server: adds `--remote_cache=grpc://127.0.0.1:PORT`. */
  remoteCache?: number;
  /** Port of our server: adds `--remote_executor=grpc://127.0.0.1:PORT` (which also serves as the cache). */
  remoteExecutor?: number;
  /** Adds `--execution_log_json_file=FILE`. */
  executionLog?: string;
}

/** Flags every test build wants: readable output, no `bazel-*` links in the workspace, plus the remote endpoints. */
export function buildFlags(o: BuildFlagsOptions = {}): string[] {
  const flags = ['--nosandbox_debug', '--symlink_prefix=/', '--color=no', '--curses=no', '--show_timestamps=no'];
  if (o.remoteCache !== undefined) flags.push(`--remote_cache=grpc://127.0.0.1:${o.remoteCache}`);
  if (o.remoteExecutor !== undefined) flags.push(`--remote_executor=grpc://127.0.0.1:${o.remoteExecutor}`);
  if (o.executionLog !== undefined) flags.push(`--execution_log_json_file=${o.executionLog}`);
  return flags;
}

/** One spawn from `--execution_log_json_file` (the fields tests look at; the rest is kept as parsed). */
export interface SpawnExec {
  commandArgs?: string[];
  mnemonic?: string;
  progressMessage?: string;
  runner?: string;
  remoteCacheHit?: boolean;
  exitCode?: number;
  remotable?: boolean;
  cacheable?: boolean;
  listedOutputs?: string[];
  actualOutputs?: { path: string; digest?: { hash: string; sizeBytes: string } }[];
  [field: string]: unknown;
}

/** Reads an execution log: Bazel writes a stream of (pretty-printed) JSON objects, not an array. */
export async function parseExecutionLog(file: string): Promise<SpawnExec[]> {
  return parseJsonStream(await fsp.readFile(file, 'utf8')) as SpawnExec[];
}

/**
 * Splits concatenated JSON values (`{..}{..}`, one per line or pretty-printed, or a single array of them) by tracking
 * brace depth outside strings, and parses each; throws with the offset of a value that does not parse.
 */
export function parseJsonStream(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown[];
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}') {
      if (--depth === 0) {
        try {
          out.push(JSON.parse(text.slice(start, i + 1)));
        } catch (err) {
          throw new Error(`execution log: object at offset ${start} does not parse: ${(err as Error).message}`);
        }
      } else if (depth < 0) throw new Error(`execution log: unbalanced "}" at offset ${i}`);
    } else if (depth === 0 && !/\s/.test(ch)) throw new Error(`execution log: unexpected ${JSON.stringify(ch)} at offset ${i} between objects`);
  }
  if (depth !== 0 || inString) throw new Error('execution log: truncated (the last object is incomplete)');
  return out;
}

/** The locks Bazel tests take (see `acquireBazelLock`): `${BAZEL_LOCK_DIR}.0`, `.1`, … */
export const BAZEL_LOCK_DIR = path.join(os.tmpdir(), 'rustexec-bazel-test.lock');

/**
 * Takes one of the suite-wide Bazel slots: at most BAZEL_TESTS_AT_ONCE (default 2, the test concurrency on a 2-core
 * CI machine) Bazel tests run at a time across parallel test files, so a file waiting for Bazel does not idle a test
 * slot behind a single lock while each Bazel JVM keeps its memory bounded. Returns the release.
 */
export function acquireBazelLock(timeoutMs = 15 * 60_000): Promise<() => Promise<void>> {
  const slots = Math.max(1, Number(process.env.BAZEL_TESTS_AT_ONCE ?? 2) || 1);
  return acquireDirLock(Array.from({ length: slots }, (_, i) => `${BAZEL_LOCK_DIR}.${i}`), timeoutMs);
}

/**
 * A cross-process lock: an exclusive directory holding the owner's pid, retried until `timeoutMs`; given several
 * directories, the first free one is taken (a counting semaphore). A lock whose owner process is gone is taken over,
 * so a test killed while holding it does not block later runs. Returns the release.
 */
export async function acquireDirLock(lockDirs: string | readonly string[], timeoutMs: number): Promise<() => Promise<void>> {
  const dirs = typeof lockDirs === 'string' ? [lockDirs] : lockDirs;
  const deadline = Date.now() + timeoutMs;
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  for (;;) {
    for (const lockDir of dirs) {
      const ownerFile = path.join(lockDir, 'owner');
      try {
        await fsp.mkdir(lockDir);
        await fsp.writeFile(ownerFile, token);
        return async () => {
          const owner = await fsp.readFile(ownerFile, 'utf8').catch(() => '');
          if (owner === token) await fsp.rm(lockDir, { recursive: true, force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      await breakStaleLock(lockDir);
    }
    if (Date.now() > deadline) throw new Error(`could not take the lock ${dirs.join(' or ')} within ${timeoutMs} ms (other Bazel tests hold it; remove the directory if it is stale)`);
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
  }
}

async function breakStaleLock(lockDir: string): Promise<void> {
  const owner = await fsp.readFile(path.join(lockDir, 'owner'), 'utf8').catch(() => undefined);
  if (owner === undefined) {
    // Between mkdir and writing the owner file, or left by a process killed right there: stale only when old.
    const st = await fsp.stat(lockDir).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 30_000) await takeAway(lockDir);
    return;
  }
  if (!processAlive(Number(owner.split(' ')[0]))) await takeAway(lockDir);
}

/** Renames the stale lock aside before deleting it, so two waiters cannot both delete it (and one a fresh lock). */
async function takeAway(lockDir: string): Promise<void> {
  const aside = `${lockDir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(lockDir, aside);
  } catch {
    return;
  }
  await fsp.rm(aside, { recursive: true, force: true });
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

async function chmodTree(p: string): Promise<void> {
  const st = await fsp.lstat(p);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    await fsp.chmod(p, 0o755);
    for (const name of await fsp.readdir(p)) await chmodTree(path.join(p, name));
  }
}
