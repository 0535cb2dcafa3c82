import { REv2, WorkerPb } from '../proto';
import { spanMs } from '../util/proto-time';
import { CriticalPath } from './critical-path';
import { PartialResult, SchedulerPolicy } from './scheduler-policy';
import type { Task } from './task';

/**
 * Ranks rustc tasks by the longest measured path their crate starts (HLFET list scheduling), and keeps the crate
 * graph learning: edges from each action's `--extern` flags, durations from each successful run.
 */
export class CriticalPathPolicy implements SchedulerPolicy {
  constructor(readonly graph: CriticalPath) {}

  created(t: Task): void {
    const r = t.request.rust;
    if (r?.crate && r.deps) this.graph.observe(r.crate, r.deps);
  }

  rank(t: Task): number {
    const crate = t.request.rust?.crate;
    return crate ? this.graph.remainingMs(crate) : 0;
  }

  /** A fused run's .rmeta is ready: how long the crate takes until dependents can start. */
  partial(t: Task, p: PartialResult): void {
    const crate = t.request.rust?.crate;
    const ms = executionMs(p.result);
    if (crate && ms !== undefined) this.graph.measured(crate, { rmetaMs: ms });
  }

  /** To the .rmeta for a metadata action, to the end for the rest (a fused run is a full compile). */
  finished(t: Task, msg: WorkerPb.IExecutionFinished): void {
    const r = t.request.rust;
    const ms = executionMs(msg.result);
    if (!r?.crate || ms === undefined || msg.result?.exitCode !== 0) return;
    this.graph.measured(r.crate, r.kind === 'rustc-metadata' && !t.internal ? { rmetaMs: ms } : { fullMs: ms, cpuSeconds: msg.cpuSeconds || undefined });
  }
}

function executionMs(r: REv2.IActionResult | null | undefined): number | undefined {
  return spanMs(r?.executionMetadata?.executionStartTimestamp, r?.executionMetadata?.executionCompletedTimestamp);
}
