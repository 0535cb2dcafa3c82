import Long from 'long';
import { WorkerPb } from '../proto';
import { timeFields } from '../util/proto-time';
import type { Task } from './task';

/** Shared, never changed: read only by the stream's serializer (and an in-process worker). */
const NO_DIRECTORIES: Buffer[] = [];
let lastTimeout: { ms: number; fields: ReturnType<typeof timeFields> } | undefined;

/**
 * The worker protocol message that hands `task` to a worker, holding `slots` of its slots. Plain objects, not
 * protobufjs instances: the stream's serializer encodes either, and this runs once per decision. The timeout's fields
 * are reused while it stays the same (one timeout is the usual case).
 */
export function assignment(task: Task, slots: number): WorkerPb.ISchedulerMessage {
  const r = task.request;
  if (lastTimeout?.ms !== r.timeoutMs) lastTimeout = { ms: r.timeoutMs, fields: timeFields(r.timeoutMs) };
  return {
    assign: {
      executionId: task.id,
      instanceName: r.instanceName,
      digestFunction: r.digestFunction.id,
      actionDigest: { hash: r.actionDigest.hash, sizeBytes: Long.fromNumber(r.actionDigest.size) },
      action: r.action,
      command: r.command,
      timeout: lastTimeout.fields,
      queuedTimestamp: timeFields(task.enqueuedAtMs),
      watchRmeta: r.watchRmeta ?? '',
      inputDirectories: r.inputDirectories ?? NO_DIRECTORIES,
      slots,
    },
  };
}
