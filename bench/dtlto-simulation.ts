/** What one DTLTO link through the backend measured, as input to the what-if for larger pools. */
export interface MeasuredLink {
  /** lld's own serial work: the thin link before the jobs and the final link after them. */
  serialMs: number;
  /** Each backend job's compile time on a dedicated core (the bench measures CPU time), in the jobs file's order. */
  jobMs: number[];
  /** What each job costs beyond its compile: dispatch, input fetch, output upload and download (a median). */
  perJobOverheadMs: number;
}

/**
 * Wall time of running `durations` in order on `workers` identical workers, each job going to the worker that frees
 * up first (what a FIFO queue does; the scheduler sends a link's jobs in the order they arrive).
 */
export function makespan(durations: number[], workers: number): number {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer, got ${workers}`);
  const free = new Array<number>(Math.min(workers, Math.max(durations.length, 1))).fill(0);
  for (const d of durations) {
    let best = 0;
    for (let i = 1; i < free.length; i++) if (free[i] < free[best]) best = i;
    free[best] += d;
  }
  return Math.max(0, ...free);
}

/** The link's wall time with `workers` single-core workers: the serial part plus the jobs spread over the pool. */
export function simulatedLinkMs(m: MeasuredLink, workers: number): number {
  return m.serialMs + makespan(m.jobMs.map((d) => d + m.perJobOverheadMs), workers);
}
