import type { BuildInfo, SchedulerInsight, SchedulerSnapshot, TaskOutcome } from '../scheduler/scheduler-observer';
import { METRICS } from './catalog';
import { Metrics } from './metrics';

/**
 * Scheduler metrics from its insight interface: gauges read a snapshot at scrape time (nothing is counted on the
 * dispatch path), histograms and counters come from events. Returns the unsubscribe function.
 */
export function schedulerMetrics(metrics: Metrics, insight: SchedulerInsight): () => void {
  // One snapshot serves every gauge of one scrape.
  let memo: SchedulerSnapshot | undefined;
  const snap = () => {
    const now = Date.now();
    if (!memo || now - memo.atMs > 100) memo = insight.snapshot();
    return memo;
  };
  // A platform/class seen once is reported as 0 when its queue drains, so "falls to 0" is a sample, not a gap.
  const seenQueues = new Set<string>();
  metrics.gauge(METRICS.queueActions, (g) => {
    const now = new Map(snap().queued.map((q) => [`${q.platformKey}\n${q.actionClass}`, q.count]));
    for (const k of now.keys()) seenQueues.add(k);
    for (const k of seenQueues) {
      const [platform, cls] = k.split('\n');
      g.set({ platform, class: cls }, now.get(k) ?? 0);
    }
  });
  const seenRunning = new Set<string>();
  metrics.gauge(METRICS.runningActions, (g) => {
    const counts = new Map<string, number>();
    for (const r of snap().running) counts.set(r.task.actionClass, (counts.get(r.task.actionClass) ?? 0) + 1);
    for (const k of counts.keys()) seenRunning.add(k);
    for (const k of seenRunning) g.set({ class: k }, counts.get(k) ?? 0);
  });
  metrics.gauge(METRICS.liveOperations, (g) => g.set(snap().liveOperations));
  metrics.gauge(METRICS.workersConnected, (g) => g.set(snap().workers.length));
  metrics.gauge(METRICS.workerSlots, (g) => g.set(snap().workers.reduce((n, w) => n + w.slots, 0)));
  metrics.gauge(METRICS.workerBusySlots, (g) => g.set(snap().workers.reduce((n, w) => n + w.busySlots, 0)));

  const queueWait = metrics.histogram(METRICS.queueWaitSeconds);
  const execution = metrics.histogram(METRICS.executionSeconds);
  const completed = metrics.counter(METRICS.actionsCompleted);
  const lost = metrics.counter(METRICS.workersLost);
  const builds = buildCounters(metrics);
  return insight.observe((e) => {
    switch (e.type) {
      case 'task-started':
        queueWait.observe({ class: e.task.actionClass }, e.queueWaitMs / 1000);
        break;
      case 'task-completed':
        completed.inc({ class: e.task.actionClass, result: result(e.outcome) });
        // A task answered by another run (a fused pair's partner) did not run a command of its own.
        if (e.outcome.timings.executionMs !== undefined && !e.outcome.servedBy) execution.observe({ class: e.task.actionClass }, e.outcome.timings.executionMs / 1000);
        break;
      case 'worker-lost':
        lost.inc();
        break;
      case 'build-updated':
        builds(e.build);
        break;
    }
  });
}

function result(o: TaskOutcome): string {
  if (o.cancelled) return 'cancelled';
  if (o.code !== 0) return 'error';
  return o.exitCode ? 'failed' : 'ok';
}

/** Per-build totals (fused pairs, rustc runs and CPU) turned into process-wide counters by adding each build's growth. */
function buildCounters(metrics: Metrics): (b: BuildInfo) => void {
  const fused = metrics.counter(METRICS.fusedPairs);
  const runs = metrics.counter(METRICS.rustcRuns);
  const cpu = metrics.counter(METRICS.rustcCpuSeconds);
  const saved = metrics.counter(METRICS.rustcCpuSavedSeconds);
  const last = new Map<string, BuildInfo>();
  return (b) => {
    const before = last.get(b.invocationId);
    last.delete(b.invocationId);
    last.set(b.invocationId, b); // newest last: the oldest build is forgotten first
    if (last.size > 10_000) last.delete(last.keys().next().value as string);
    const grow = (f: (x: BuildInfo) => number) => Math.max(0, f(b) - (before ? f(before) : 0));
    fused.inc(grow((x) => x.fusedPairs));
    runs.inc(grow((x) => x.rustcRuns));
    cpu.inc(grow((x) => x.rustcCpuSeconds));
    saved.inc(grow((x) => x.rustcCpuSavedSeconds));
  };
}
