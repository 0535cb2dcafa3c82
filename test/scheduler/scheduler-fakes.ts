import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { re, WorkerPb } from '../../src/proto';
import { ExecutionRequest } from '../../src/scheduler/execution';

/** An ExecutionRequest whose action digest and argv[0] are `name` (so a fake worker can tell actions apart). */
export function request(name: string, over: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return {
    instanceName: '',
    digestFunction: SHA256,
    actionDigest: Digest.compute(Buffer.from(name), SHA256),
    action: re.Action.create({}),
    command: re.Command.create({ arguments: [name] }),
    platform: [],
    priority: 0,
    invocationId: 'inv',
    timeoutMs: 60_000,
    ...over,
  };
}

/** A worker channel that records what the scheduler sends. */
export class FakeWorker {
  readonly messages: WorkerPb.ISchedulerMessage[] = [];
  send = (m: WorkerPb.ISchedulerMessage) => void this.messages.push(m);
  get assigned(): string[] {
    return this.messages.filter((m) => m.assign).map((m) => (m.assign!.command!.arguments ?? [])[0]);
  }
  executionId(name: string): string {
    return this.messages.find((m) => m.assign?.command?.arguments?.[0] === name)!.assign!.executionId!;
  }
  get cancelled(): string[] {
    return this.messages.filter((m) => m.cancel).map((m) => m.cancel!.executionId!);
  }
}

/** Echoes the worker's answer as the ExecuteResponse (no action cache). */
export const echoSink = async (_t: unknown, f: WorkerPb.IExecutionFinished) => re.ExecuteResponse.create({ status: f.status ?? { code: 0 }, result: f.result ?? undefined });
