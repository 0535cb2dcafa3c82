import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
