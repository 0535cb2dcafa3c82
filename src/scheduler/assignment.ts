import Long from 'long';
import { WorkerPb } from '../proto';
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
      timeout: protoTime(r.timeoutMs),
      queuedTimestamp: protoTime(task.enqueuedAtMs),
      watchRmeta: r.watchRmeta ?? '',
      inputDirectories: r.inputDirectories ?? [],
      slots,
    },
  };
}

/** A Duration or Timestamp (epoch) for milliseconds, as a plain object. */
function protoTime(ms: number): { seconds: Long; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds: Long.fromNumber(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
