import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

/** The compiled server entry point, relative to this compiled file, so it works from any outDir. */
export const ALL_IN_ONE = path.join(__dirname, '../../src/cmd/all-in-one.js');

export interface ServerProcessOptions {
  /** Extra flags after `--port 0`, e.g. `['--data', dir, '--workers', '0']`. */
  args?: string[];
  /** The entry point to run (default: all-in-one). */
  entry?: string;
  env?: NodeJS.ProcessEnv;
  /** Flags for node itself, e.g. `['--cpu-prof']` (NODE_OPTIONS does not take every flag). */
  nodeArgs?: string[];
  /** How long to wait for the "frontend listening" log line. */
  startTimeoutMs?: number;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** `127.0.0.1:PORT`, for gRPC clients. */
  address: string;
  /** Everything the process printed so far (the tail, for failure messages). */
  logs(): string;
  /** Parsed JSON log lines seen so far. */
  logRecords(): Record<string, unknown>[];
  /** The first log record with this `msg`, waiting for it up to `timeoutMs`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends `signal` (SIGKILL by default) and waits until the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Graceful stop: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
// A test that throws before its cleanup must not leave servers running behind it.
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

const MAX_LOG_CHARS = 200_000;

/**
 * Starts the real server as a child process on a free port (`--port 0`) and resolves once it logged
 * `"msg":"frontend listening"` with its address. Rejects (and kills the child) if it exits or stays silent.
 */
export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const entry = options.entry ?? ALL_IN_ONE;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry, '--port', '0', ...(options.args ?? [])], {
    env: { ...process.env, LOG_PRETTY: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let text = '';
  const records: Record<string, unknown>[] = [];
  let partial = '';
  let onListening: ((address: string) => void) | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-MAX_LOG_CHARS);
  };
  // Both pipes are drained for the whole life of the process, or a chatty server would block on a full pipe.
  child.stderr!.on('data', append);
  child.stdout!.on('data', (chunk: Buffer) => {
    append(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      records.push(rec);
      if (rec.msg === 'frontend listening' && typeof rec.address === 'string') onListening?.(rec.address);
    }
  });

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const address = await Promise.race([
      new Promise<string>((resolve) => (onListening = resolve)),
      exited.then(() => {
        throw new Error(`server exited (code ${child.exitCode}, signal ${child.signalCode}) before listening:\n${text.slice(-4000)}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`server did not log "frontend listening" within ${timeoutMs} ms:\n${text.slice(-4000)}`)), timeoutMs);
      }),
    ]);
    const port = Number(/:(\d+)$/.exec(address)?.[1]);
    if (!port) throw new Error(`cannot read a port from the listening address "${address}"`);
    return {
      child,
      port,
      address: `127.0.0.1:${port}`,
      logs: () => text,
      logRecords: () => records,
      waitForLog: async (msg, waitMs = 20_000) => {
        for (const until = Date.now() + waitMs; ; await new Promise((r) => setTimeout(r, 50))) {
          const rec = records.find((r) => r.msg === msg);
          if (rec) return rec;
          if (Date.now() > until || child.exitCode !== null) throw new Error(`no "${msg}" log line within ${waitMs} ms:\n${text.slice(-4000)}`);
        }
      },
      kill,
      stop: async (graceMs = 5000) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      },
    };
  } catch (err) {
    await kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
