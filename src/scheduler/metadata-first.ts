import { SchedulerPolicy } from './scheduler-policy';
import type { Task } from './task';

/** Above any measured path (ms): a metadata tier always outranks path lengths. */
export const METADATA_TIER = 1e9;

/**
 * Rust metadata actions unblock their dependents (a pipelined build compiles against .rmeta files), so among equal
 * priority and fairness they run before rlib, link and other actions. `awaited` tells of other tasks whose .rmeta
 * someone waits for (a fused run serving a metadata action).
 */
export class MetadataFirst implements SchedulerPolicy {
  constructor(private readonly awaited: (t: Task) => boolean = () => false) {}

  rank(t: Task): number {
    const metadata = t.request.rust?.kind === 'rustc-metadata' && !t.internal;
    return metadata || this.awaited(t) ? METADATA_TIER : 0;
  }
}
