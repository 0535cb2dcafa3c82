import { JobOutcome, JobRunner } from './job-runner';
import { BackendJob } from './jobs-file';
import { Limiter } from './limiter';

export interface JobReport {
  job: BackendJob;
  outcome: JobOutcome;
  /** Wall time of the job as the distributor saw it (preparation, upload, queue, run, download). */
  ms: number;
  start: number;
}

/** How the link's jobs ended: all succeeded, a job failed (compiler diagnostics), or the backend could not run one. */
export type DistributeResult = { ok: true } | { ok: false; failed: JobReport } | { ok: false; error: { job: BackendJob; message: string } };

/**
 * Runs every job through `runner`, at most `concurrency` at once, and reports each as it ends. Returns at the first
 * failure without waiting for the jobs still running (lld fails the link anyway; the caller exits, which cancels
 * them) and starts no new ones after it.
 */
export function distribute(jobs: BackendJob[], runner: JobRunner, concurrency: number, onJob: (r: JobReport) => Promise<void> | void): Promise<DistributeResult> {
  const limiter = new Limiter(concurrency);
  let stopped = false;
  return new Promise((resolve) => {
    const all = jobs.map((job) =>
      limiter.run(async () => {
        if (stopped) return;
        const start = Date.now();
        let outcome: JobOutcome;
        try {
          outcome = await runner.run(job);
        } catch (err) {
          stopped = true;
          resolve({ ok: false, error: { job, message: err instanceof Error ? err.message : String(err) } });
          return;
        }
        const report = { job, outcome, ms: Date.now() - start, start };
        try {
          await onJob(report);
        } catch (err) {
          stopped = true;
          resolve({ ok: false, error: { job, message: err instanceof Error ? err.message : String(err) } });
          return;
        }
        if (outcome.exitCode !== 0 && !stopped) {
          stopped = true;
          resolve({ ok: false, failed: report });
        }
      }),
    );
    void Promise.all(all).then(() => resolve({ ok: true }));
  });
}
