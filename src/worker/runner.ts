import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { promises as fsp } from 'node:fs';
import { Code, StatusError } from '../grpc/status-error';
import { RunAs } from './run-as';
import { BubblewrapSandbox, findExecutable, SandboxSpec } from './sandbox';

/** The PATH a command gets when its environment names none (Buck2 sends no PATH at all). */
export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface RunRequest {
  argv: string[];
  /** Exactly the action's environment; DEFAULT_PATH is added only when it has no PATH. */
  env: Record<string, string>;
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with the pid (= process group id) right after the command started. */
  onSpawn?: (pid: number) => void;
  /** Run as this user and group instead of the worker's own. */
  runAs?: RunAs;
  /** Where the action may write and whether it gets the network (used when the runner has a sandbox). */
  sandbox?: SandboxSpec;
}

export interface RunResult {
  exitCode: number;
  timedOut: boolean;
  cancelled: boolean;
  /** Signal that ended the process, if any (exitCode is then 128 + its number, as a shell reports it). */
  termSignal?: string;
}

/**
 * Runs one command in its own process group and kills the whole group on timeout, cancellation and exit; with a
 * sandbox, inside it (its PID namespace also ends every process that left the group).
 */
export class Runner {
  constructor(private readonly sandbox?: BubblewrapSandbox) {}

  async run(req: RunRequest): Promise<RunResult> {
    if (req.argv.length === 0 || !req.argv[0]) throw new StatusError(Code.INVALID_ARGUMENT, 'Command.arguments is empty: there is nothing to run');
    const env = 'PATH' in req.env ? req.env : { ...req.env, PATH: DEFAULT_PATH };
    let argv = req.argv;
    if (this.sandbox && req.sandbox) {
      if (!(await findExecutable(req.argv[0], req.cwd, env.PATH))) throw spawnError(req, Object.assign(new Error('not found'), { code: 'ENOENT' }));
      argv = this.sandbox.wrap(req.argv, req.sandbox);
    }
    const out = await fsp.open(req.stdoutPath, 'w');
    const err = await fsp.open(req.stderrPath, 'w');
    try {
      return await new Promise<RunResult>((resolve, reject) => {
        let timedOut = false;
        let cancelled = false;
        const child = spawn(argv[0], argv.slice(1), { cwd: req.cwd, env, detached: true, stdio: ['ignore', out.fd, err.fd], ...req.runAs });
        if (child.pid) req.onSpawn?.(child.pid);
        const killGroup = () => {
          try {
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // ESRCH: the group is already gone.
          }
        };
        const timer = setTimeout(() => {
          timedOut = true;
          killGroup();
        }, Math.max(1, req.timeoutMs));
        const onAbort = () => {
          cancelled = true;
          killGroup();
        };
        if (req.signal?.aborted) onAbort();
        req.signal?.addEventListener('abort', onAbort, { once: true });
        const done = () => {
          clearTimeout(timer);
          req.signal?.removeEventListener('abort', onAbort);
        };
        child.once('error', (e: NodeJS.ErrnoException) => {
          done();
          reject(spawnError(req, e));
        });
        child.once('exit', (code, sig) => {
          done();
          // Background children of the command must not outlive the action.
          killGroup();
          const signo = sig ? osConstants.signals[sig] : undefined;
          resolve({ exitCode: code ?? 128 + (signo ?? 0), timedOut, cancelled, termSignal: sig ?? undefined });
        });
      });
    } finally {
      await out.close();
      await err.close();
    }
  }
}

function spawnError(req: RunRequest, e: NodeJS.ErrnoException): StatusError {
  if (e.code === 'ENOENT' || e.code === 'EACCES') {
    const what = e.code === 'ENOENT' ? 'not found' : 'not executable';
    return new StatusError(Code.INVALID_ARGUMENT, `cannot run ${JSON.stringify(req.argv[0])}: ${what} (working directory ${JSON.stringify(req.cwd)}, PATH ${JSON.stringify(req.env.PATH ?? DEFAULT_PATH)}); it must be in the input root or on the worker's PATH`);
  }
  return new StatusError(Code.INTERNAL, `spawning ${JSON.stringify(req.argv[0])}: ${e.message}`);
}
