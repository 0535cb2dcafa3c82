import type { SchedulerSnapshot } from '../scheduler/scheduler-observer';
import { kindOf } from './build-recorder';
import type { NowSnapshot } from './dashboard-api';

/** The Now view from the scheduler's read-only snapshot: queue depth by class, workers, running actions. */
export function nowSnapshot(s: SchedulerSnapshot): NowSnapshot {
  const queued: Record<string, number> = {};
  for (const q of s.queued) queued[q.actionClass] = (queued[q.actionClass] ?? 0) + q.count;
  return {
    serverTimeMs: s.atMs,
    queued,
    workers: s.workers.map((w) => ({ name: w.name, slots: w.slots, busy: w.busySlots })),
    running: s.running.map((r) => ({
      id: r.task.id,
      invocationId: r.task.invocationIds[0] ?? '',
      kind: kindOf(r.task),
      fused: r.task.internal,
      mnemonic: r.task.mnemonic,
      crateName: r.task.labels.crate,
      worker: r.workerName,
      queuedMs: r.task.queuedAtMs,
      startedMs: r.startedAtMs,
    })),
  };
}
