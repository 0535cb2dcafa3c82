import { Fallback } from '../client/settings';
import { isUnreachable } from '../client/remote-client';
import { JobInfrastructureError, JobOutcome, JobRunner } from './job-runner';
import { BackendJob, jobLabel } from './jobs-file';

/** Shared across the jobs of one link: once the backend is known to be unreachable, nobody tries it again. */
export interface BackendHealth {
  /** True when this link (or, through a marker file, another process moments ago) found the backend unreachable. */
  knownDown(): Promise<boolean>;
  /** Records that the backend is unreachable; true for the first caller (the one that prints the warning). */
  markDown(): Promise<boolean>;
  markUp(): Promise<void>;
}

/**
 * Decorates the remote runner with RUSTEXEC_FALLBACK: when the backend cannot run a job (unreachable, or it answered
 * with an error status), `local` runs the job on this machine, `fail` fails it. A job the compiler itself failed is
 * never retried: its diagnostics are the answer.
 */
export class FallbackJobRunner implements JobRunner {
  private up = false;

  constructor(
    private readonly remote: JobRunner,
    private readonly local: JobRunner,
    private readonly fallback: Fallback,
    private readonly health: BackendHealth,
    private readonly warn: (message: string) => void,
    private readonly address: string,
  ) {}

  async run(job: BackendJob): Promise<JobOutcome> {
    if (await this.health.knownDown()) return this.instead(job, `the backend at ${this.address} is unreachable (found moments ago)`, false);
    try {
      const outcome = await this.remote.run(job);
      if (!this.up) {
        this.up = true;
        await this.health.markUp();
      }
      return outcome;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (isUnreachable(err)) {
        const first = await this.health.markDown().catch(() => true);
        return this.instead(job, `the backend at ${this.address} is unreachable (${message})`, first);
      }
      return this.instead(job, `remote backend job failed: ${message}`, true);
    }
  }

  private async instead(job: BackendJob, reason: string, warn: boolean): Promise<JobOutcome> {
    if (this.fallback === 'fail') throw new JobInfrastructureError(`${jobLabel(job)}: ${reason}; failing (RUSTEXEC_FALLBACK=fail)`);
    if (warn) this.warn(`warning: ${jobLabel(job)}: ${reason}; running backend jobs locally (RUSTEXEC_FALLBACK=local)`);
    return { ...(await this.local.run(job)), reason };
  }
}
