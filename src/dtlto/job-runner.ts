import { BackendJob } from './jobs-file';
import { JobTimings } from './job-timings';

/** How one backend job ended. A non-zero exitCode is the compiler's own failure, with its diagnostics in stderr. */
export interface JobOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** executed: ran on the pool; cached: the action cache answered; local: ran on this machine. */
  remote: 'executed' | 'cached' | 'local';
  /** Why a job ran locally. */
  reason?: string;
  /** The REAPI action digest of a remote job. */
  action?: string;
  /** When the job passed each stage on its worker (remote jobs whose result carries execution metadata). */
  timings?: JobTimings;
}

/** Runs one backend compile and leaves its outputs at the paths lld expects. */
export interface JobRunner {
  run(job: BackendJob): Promise<JobOutcome>;
}

/** The backend could not run a job (unreachable, no capable worker, lost outputs): not a compile error. */
export class JobInfrastructureError extends Error {
  constructor(
    message: string,
    /** gRPC status code when the backend answered with one. */
    readonly code?: number,
  ) {
    super(message);
  }
}
