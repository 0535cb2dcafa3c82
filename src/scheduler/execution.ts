import { randomUUID } from 'node:crypto';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { REv2 } from '../proto';
import { CrateDep } from '../rust/crate-deps';
import { RustActionKind } from '../rust/rustc-command';
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
  /** What kind of rustc action this is (absent: not recognised, runs as "other"). */
  rust?: RustActionInfo;
  /** Internal fused rustc run serving a metadata/rlib pair; not a client operation. */
  carrier?: boolean;
  /** Report the .rmeta at this path (relative to the working directory) as soon as it exists. */
  watchRmeta?: string;
  /** The input tree's encoded Directory messages, read when the inputs were checked (sent on to the worker). */
  inputDirectories?: Buffer[];
}

export interface RustActionInfo {
  kind: RustActionKind;
  crateName?: string;
  /** Shared by a crate's RustcMetadata and Rustc actions (see src/rust/pair-key.ts). */
  pairKey?: string;
  rmetaPath?: string;
  rlibPath?: string;
  /** The crate built (its output path without extension) and what it compiles against: edges of the crate graph. */
  crate?: string;
  deps?: CrateDep[];
}

/** One run of one action, shared by every Execute/WaitExecution call that waits for it. */
export class Execution {
  readonly id = randomUUID();
  stage: Stage = 'QUEUED';
  /** How many times a worker was lost while running it. */
  lostWorkers = 0;
  /** On the critical path: a metadata action, or a fused run whose .rmeta someone waits for. Runs first. */
  critical: boolean;
  /** Longest measured path from this action's start to the end of its build (0: unknown); longer starts first. */
  remainingMs = 0;
  workerId?: string;
  /** When it was last assigned to a worker (epoch ms). */
  assignedAtMs?: number;
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
    this.critical = request.rust?.kind === 'rustc-metadata';
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
    // Completed operations stay visible for minutes; the input tree (up to MiBs) is not needed any more.
    this.request.inputDirectories = undefined;
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
