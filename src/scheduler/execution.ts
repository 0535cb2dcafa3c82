import { randomUUID } from 'node:crypto';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { REv2 } from '../proto';
import { PlatformProperty } from './platform';

export type Stage = 'QUEUED' | 'EXECUTING' | 'COMPLETED';

export interface ExecutionRequest {
  instanceName: string;
  digestFunction: DigestFunction;
  actionDigest: Digest;
  action: REv2.Action;
  command: REv2.Command;
  platform: PlatformProperty[];
  /** Lower runs sooner (REAPI ExecutionPolicy.priority). */
  priority: number;
  /** RequestMetadata.tool_invocation_id: the unit of fairness. */
  invocationId: string;
  timeoutMs: number;
  mnemonic?: string;
}

/** One run of one action, shared by every Execute/WaitExecution call that waits for it. */
export class Execution {
  readonly id = randomUUID();
  stage: Stage = 'QUEUED';
  /** How many times a worker was lost while running it. */
  lostWorkers = 0;
  workerId?: string;
  response?: REv2.ExecuteResponse;
  readonly queuedAt: Date;
  private readonly listeners = new Set<(e: Execution) => void>();

  constructor(
    readonly request: ExecutionRequest,
    now: Date,
    /** Order of arrival, for FIFO within the same priority and invocation. */
    readonly sequence: number,
  ) {
    this.queuedAt = now;
  }

  get operationName(): string {
    return `operations/${this.id}`;
  }

  get done(): boolean {
    return this.stage === 'COMPLETED';
  }

  setStage(stage: Stage): void {
    if (this.stage === stage || this.done) return;
    this.stage = stage;
    this.notify();
  }

  complete(response: REv2.ExecuteResponse): void {
    if (this.done) return;
    this.response = response;
    this.stage = 'COMPLETED';
    this.notify();
    this.listeners.clear();
  }

  /** Calls `fn` on every change until completion; returns an unsubscribe function. */
  subscribe(fn: (e: Execution) => void): () => void {
    if (this.done) return () => undefined;
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    for (const fn of [...this.listeners]) fn(this);
  }
}
