import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { JobOutcome, JobRunner } from './job-runner';
import { BackendJob, JobsFile } from './jobs-file';
import { Limiter } from './limiter';

/**
 * Runs a job on this machine exactly as lld would have: `common.args + job.args` in the link's directory, at most
 * one per core at once (several runners may share one limiter).
 */
export class LocalJobRunner implements JobRunner {
  constructor(
    private readonly common: JobsFile['common'],
    private readonly cwd: string,
    private readonly limiter = new Limiter(os.availableParallelism()),
  ) {}

  run(job: BackendJob): Promise<JobOutcome> {
    return this.limiter.run(() => this.spawn(job));
  }

  private spawn(job: BackendJob): Promise<JobOutcome> {
    const [compiler, ...common] = this.common.args;
    return new Promise((resolve) => {
      const child = spawn(compiler, [...common, ...job.args], { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', (err) => resolve({ exitCode: 127, stdout, stderr: `cannot run ${compiler}: ${err.message}\n`, remote: 'local' }));
      child.on('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 9) : 1), stdout, stderr, remote: 'local' }));
    });
  }
}
