import type { Logger } from 'pino';
import { BuildAccounting } from '../scheduler/build-accounting';
import { Clock, systemClock } from '../scheduler/clock';
import { CriticalPath } from '../scheduler/critical-path';
import { CriticalPathPolicy } from '../scheduler/critical-path-policy';
import { MetadataFirst } from '../scheduler/metadata-first';
import { describeRustAction } from '../scheduler/rust-action-class';
import { RustFusion } from '../scheduler/rust-fusion';
import { RustSlotSizing } from '../scheduler/rust-slot-sizing';
import { ResultSink, Scheduler, SchedulerOptions } from '../scheduler/scheduler';
import { SchedulerInsight } from '../scheduler/scheduler-observer';
import { SchedulerPolicy } from '../scheduler/scheduler-policy';

/** Which Rust policies plug into the generic scheduler. */
export interface RustPolicies {
  /** Run a crate's RustcMetadata and Rustc actions as one rustc process. */
  fusion: boolean;
  /** Metadata actions first, then the longest learned remaining path. */
  criticalPath: boolean;
  /** A heavy rustc takes as many slots as the cores it kept busy last time. */
  sizeAwareSlots: boolean;
}

export interface ComposedScheduler {
  scheduler: Scheduler;
  /** What metrics and the dashboard read. */
  insight: SchedulerInsight;
  accounting: BuildAccounting;
  criticalPath: CriticalPath;
}

/** The scheduler as the server runs it: the generic core with the Rust policies and the build accounting around it. */
export function composeScheduler(
  options: Omit<SchedulerOptions, 'policies' | 'describe' | 'clock' | 'now'>,
  rust: RustPolicies,
  sink: ResultSink,
  logger: Logger,
  clock: Clock = systemClock,
  buildIdleMs = 2000,
): ComposedScheduler {
  const accounting = new BuildAccounting(logger.child({ component: 'build-accounting' }), buildIdleMs, clock);
  const criticalPath = new CriticalPath();
  const fusion = rust.fusion ? new RustFusion(logger.child({ component: 'rust-fusion' }), (inv, saved) => accounting.fused(inv, saved)) : undefined;
  const policies: SchedulerPolicy[] = [];
  if (fusion) policies.push(fusion);
  // The graph is learned whatever the ordering, so the dashboard and slot sizing can use it.
  const ranking = new CriticalPathPolicy(criticalPath);
  policies.push(rust.criticalPath ? ranking : { created: (t) => ranking.created(t), partial: (t, p) => ranking.partial(t, p), finished: (t, f) => ranking.finished(t, f) });
  if (rust.criticalPath) policies.push(new MetadataFirst((t) => fusion?.awaitsMetadata(t) ?? false));
  if (rust.sizeAwareSlots) policies.push(new RustSlotSizing(criticalPath));
  policies.push(accounting.policy);
  const scheduler = new Scheduler({ ...options, policies, describe: describeRustAction, clock }, sink, logger);
  scheduler.observe(accounting.observer, BuildAccounting.EVENTS);
  const insight: SchedulerInsight = {
    observe: (o, types) => {
      const offScheduler = scheduler.observe(o, types?.filter((t) => t !== 'build-updated'));
      const offBuilds = accounting.observe(o, types && (types.includes('build-updated') ? ['build-updated'] : []));
      return () => {
        offScheduler();
        offBuilds();
      };
    },
    snapshot: () => scheduler.snapshot(),
    builds: () => accounting.builds(),
    crateGraph: () => criticalPath.snapshot(),
  };
  return { scheduler, insight, accounting, criticalPath };
}
