import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import type { Logger } from 'pino';

export interface LocalWorkersOptions {
  count: number;
  schedulerAddress: string;
  dataDir: string;
  /** Restart a worker that died, after this delay (a dead worker's actions are requeued by the scheduler). */
  restartDelayMs?: number;
  extraArgs?: string[];
  /** Extra environment for the workers (e.g. RUSTEXEC_TOKEN). */
  env?: NodeJS.ProcessEnv;
}

/** Runs N worker processes on this machine and restarts any that die, until stopped. */
export class LocalWorkers {
  private readonly children = new Map<number, ChildProcess>();
  private stopping = false;

  constructor(
    private readonly options: LocalWorkersOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    for (let i = 0; i < this.options.count; i++) this.spawn(i);
  }

  pids(): number[] {
    return [...this.children.values()].map((c) => c.pid ?? -1);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
            c.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  }

  private spawn(i: number): void {
    const dir = path.join(this.options.dataDir, 'workers', String(i));
    const args = ['--scheduler', this.options.schedulerAddress, '--name', `local-${i}`, '--slots', '1', '--work-dir', path.join(dir, 'work'), '--cache-dir', path.join(dir, 'cache'), ...(this.options.extraArgs ?? [])];
    const child = fork(path.join(__dirname, 'worker.js'), args, { stdio: 'inherit', env: { ...process.env, ...this.options.env } });
    this.children.set(i, child);
    child.on('exit', (code, signal) => {
      if (this.stopping) return;
      this.logger.warn({ worker: i, pid: child.pid, code, signal }, 'local worker exited; restarting');
      setTimeout(() => !this.stopping && this.spawn(i), this.options.restartDelayMs ?? 1000).unref();
    });
  }
}
