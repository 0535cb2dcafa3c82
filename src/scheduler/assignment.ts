import Long from 'long';
import { WorkerPb } from '../proto';
import { timeFields } from '../util/proto-time';
import type { Task } from './task';

/**
 * The worker protocol message that hands `task` to a worker, holding `slots` of its slots. Plain objects, not
 * protobufjs instances: the stream's serializer encodes either, and this runs once per decision.
 */
export function assignment(task: Task, slots: number): WorkerPb.ISchedulerMessage {
  const r = task.request;
  return {
    assign: {
      executionId: task.id,
      instanceName: r.instanceName,
      digestFunction: r.digestFunction.id,
      actionDigest: { hash: r.actionDigest.hash, sizeBytes: Long.fromNumber(r.actionDigest.size) },
      action: r.action,
      command: r.command,
      timeout: timeFields(r.timeoutMs),
      queuedTimestamp: timeFields(task.enqueuedAtMs),
      watchRmeta: r.watchRmeta ?? '',
      inputDirectories: r.inputDirectories ?? [],
      slots,
    },
  };
}
