import { CriticalPath } from './critical-path';
import { SchedulerPolicy } from './scheduler-policy';
import type { Task } from './task';

/**
 * Size-aware slots: a full rustc compile whose crate kept several cores busy last time (codegen units run in
 * parallel) asks for that many slots, so it is not slowed by sharing its worker's cores; a light one gets one. A
 * metadata-only run is mostly rustc's single-threaded front end, so it always takes one.
 */
export class RustSlotSizing implements SchedulerPolicy {
  constructor(
    private readonly graph: CriticalPath,
    private readonly maxSlots = 16,
    /** Below this measured parallelism a crate counts as light. */
    private readonly heavyFrom = 1.5,
  ) {}

  slots(t: Task): number {
    const r = t.request.rust;
    if (!r?.crate || (r.kind === 'rustc-metadata' && !t.internal)) return 1;
    const p = this.graph.parallelism(r.crate);
    if (p === undefined || p < this.heavyFrom) return 1;
    return Math.min(this.maxSlots, Math.round(p));
  }
}
