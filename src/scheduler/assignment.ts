import { worker, WorkerPb } from '../proto';
import { toDuration, toTimestamp } from '../util/proto-time';
import type { Task } from './task';

/** The worker protocol message that hands `task` to a worker, holding `slots` of its slots. */
export function assignment(task: Task, slots: number): WorkerPb.SchedulerMessage {
  const r = task.request;
  return worker.SchedulerMessage.create({
    assign: {
      executionId: task.id,
      instanceName: r.instanceName,
      digestFunction: r.digestFunction.id,
      actionDigest: r.actionDigest.toProto(),
      action: r.action,
      command: r.command,
      timeout: toDuration(r.timeoutMs),
      queuedTimestamp: toTimestamp(task.enqueuedAtMs),
      watchRmeta: r.watchRmeta ?? '',
      inputDirectories: r.inputDirectories ?? [],
      slots,
    },
  });
}
