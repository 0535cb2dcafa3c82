import { Execution } from './execution';
import { unsatisfied, WorkerPlatform } from './platform';

/**
 * Pending executions. The next one for a worker is chosen among those whose platform it satisfies, by
 * (1) ExecutionPolicy.priority, lower first; (2) fairness: the invocation with the fewest actions running now;
 * (3) critical path: rustc metadata actions (which unblock dependents) before rlib, link and other actions;
 * (4) the longest remaining path first, from the crate graph and durations the last builds showed (CriticalPath);
 * (5) arrival order.
 */
export class BuildQueue {
  private readonly pending: Execution[] = [];

  get length(): number {
    return this.pending.length;
  }

  push(e: Execution): void {
    this.pending.push(e);
  }

  remove(e: Execution): boolean {
    const i = this.pending.indexOf(e);
    if (i >= 0) this.pending.splice(i, 1);
    return i >= 0;
  }

  items(): readonly Execution[] {
    return this.pending;
  }

  /** Removes and returns the best execution `platform` can run, if any. */
  take(platform: WorkerPlatform, runningPerInvocation: (invocationId: string) => number): Execution | undefined {
    let best: Execution | undefined;
    let bestRunning = 0;
    for (const e of this.pending) {
      if (unsatisfied(platform, e.request.platform)) continue;
      const running = runningPerInvocation(e.request.invocationId);
      if (!best || compare(e, running, best, bestRunning) < 0) {
        best = e;
        bestRunning = running;
      }
    }
    if (best) this.remove(best);
    return best;
  }
}

/** Priority, fairness between invocations, metadata actions, longest remaining path, arrival. */
function compare(a: Execution, aRunning: number, b: Execution, bRunning: number): number {
  return (
    a.request.priority - b.request.priority ||
    aRunning - bRunning ||
    Number(b.critical) - Number(a.critical) ||
    b.remainingMs - a.remainingMs ||
    a.sequence - b.sequence
  );
}
