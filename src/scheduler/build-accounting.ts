import type { Logger } from 'pino';
import { Clock, systemClock } from './clock';
import { ObserverHub } from './observer-hub';
import type { Operation } from './operation';
import { BuildInfo, SchedulerEvent, SchedulerObserver } from './scheduler-observer';
import { SchedulerPolicy, TaskRun } from './scheduler-policy';
import type { Task } from './task';

interface Build {
  invocationId: string;
  actions: number;
  executed: number;
  cached: number;
  inFlight: number;
  rustcRuns: number;
  rustcCpuSeconds: number;
  rustcCpuSavedSeconds: number;
  fusedPairs: number;
  startedAtMs: number;
  lastActivityMs: number;
  cancelIdle?: () => void;
}

/**
 * Per-build (RequestMetadata.tool_invocation_id) counters: actions, runs executed, cache hits, fused pairs, rustc CPU
 * seconds spent and saved. It hears of operations and runs through the scheduler's lifecycle hooks (`policy`: no event
 * data is built per action for it) and of cache hits as an observer. A build has no "done" signal in REAPI, so the summary
 * line is logged when its last operation completed and nothing new arrived for `idleMs` (again, cumulatively, if it
 * resumes). Changes go out as `build-updated` events.
 */
export class BuildAccounting {
  private readonly builds_ = new Map<string, Build>();
  private readonly hub: ObserverHub;

  constructor(
    private readonly logger: Logger,
    private readonly idleMs = 2000,
    private readonly clock: Clock = systemClock,
    private readonly maxBuilds = 1000,
  ) {
    this.hub = new ObserverHub(logger);
  }

  /** Install this among the scheduler's policies. */
  readonly policy: SchedulerPolicy = {
    operationCreated: (op: Operation) => this.operationCreated(op.request.invocationId),
    operationCompleted: (op: Operation) => this.operationCompleted(op.request.invocationId),
    completed: (task: Task, response, actionClass: string, run: TaskRun | undefined) => {
      // A run that ended on a worker with a result (not one answered by another run, nor cancelled).
      if (!response.result || run?.servedBy || run?.cancelled) return;
      this.executed(task.chargedInvocation, actionClass, run?.cpuSeconds);
    },
  };
  /** And subscribe this to the scheduler, for these event types. */
  readonly observer: SchedulerObserver = (e) => this.on(e);
  static readonly EVENTS = ['cache-hit'] as const;

  /** `build-updated` events. */
  observe(observer: SchedulerObserver, types?: readonly SchedulerEvent['type'][]): () => void {
    return this.hub.observe(observer, types);
  }

  /** One rustc run served both actions of a pair; the metadata action's own run (its CPU up to the .rmeta) was saved. */
  fused(invocationId: string, savedCpuSeconds: number): void {
    const b = this.build(invocationId);
    b.fusedPairs++;
    b.rustcCpuSavedSeconds += savedCpuSeconds;
    this.touch(b);
  }

  snapshot(invocationId: string): BuildInfo | undefined {
    const b = this.builds_.get(invocationId);
    return b && info(b);
  }

  /** Every build still remembered (the last `maxBuilds`), oldest first. */
  builds(): BuildInfo[] {
    return [...this.builds_.values()].map(info);
  }

  private on(e: SchedulerEvent): void {
    if (e.type !== 'cache-hit') return;
    const b = this.build(e.invocationId);
    b.actions++;
    b.cached++;
    this.touch(b);
  }

  private operationCreated(invocationId: string): void {
    const b = this.build(invocationId);
    if (b.cancelIdle) {
      b.cancelIdle();
      b.cancelIdle = undefined;
    }
    b.actions++;
    b.inFlight++;
    this.touch(b);
  }

  private operationCompleted(invocationId: string): void {
    const b = this.build(invocationId);
    b.inFlight = Math.max(0, b.inFlight - 1);
    if (b.inFlight === 0) {
      b.cancelIdle?.();
      b.cancelIdle = this.clock.schedule(() => this.summarize(b), this.idleMs);
    }
    this.touch(b);
  }

  private executed(invocationId: string, actionClass: string, cpuSeconds: number | undefined): void {
    const b = this.build(invocationId);
    b.executed++;
    if (actionClass.startsWith('rust-')) {
      b.rustcRuns++;
      b.rustcCpuSeconds += cpuSeconds ?? 0;
    }
    this.touch(b);
  }

  private touch(b: Build): void {
    b.lastActivityMs = this.clock.now();
    if (this.hub.wants('build-updated')) this.hub.emit({ type: 'build-updated', atMs: b.lastActivityMs, build: info(b) });
  }

  private summarize(b: Build): void {
    b.cancelIdle = undefined;
    if (b.inFlight > 0) return;
    const spent = round(b.rustcCpuSeconds);
    const saved = round(b.rustcCpuSavedSeconds);
    this.logger.info(
      {
        invocation: b.invocationId || '(none)',
        actions: b.actions,
        executed: b.executed,
        cached: b.cached,
        rustcRuns: b.rustcRuns,
        fusedPairs: b.fusedPairs,
        rustcCpuSpentSeconds: spent,
        rustcCpuSavedSeconds: saved,
        wallSeconds: round((this.clock.now() - b.startedAtMs) / 1000),
      },
      `build ${b.invocationId || '(no invocation id)'}: ${b.actions} actions, rustc CPU ${spent}s spent, ${saved}s saved by fusing ${b.fusedPairs} metadata/rlib pairs`,
    );
  }

  private build(id: string): Build {
    let b = this.builds_.get(id);
    if (!b) {
      const now = this.clock.now();
      b = { invocationId: id, actions: 0, executed: 0, cached: 0, inFlight: 0, rustcRuns: 0, rustcCpuSeconds: 0, rustcCpuSavedSeconds: 0, fusedPairs: 0, startedAtMs: now, lastActivityMs: now };
      this.builds_.set(id, b);
      if (this.builds_.size > this.maxBuilds) {
        const oldest = this.builds_.values().next().value as Build;
        oldest.cancelIdle?.();
        this.builds_.delete(oldest.invocationId);
      }
    }
    return b;
  }
}

function info(b: Build): BuildInfo {
  const { cancelIdle: _, ...rest } = b;
  return rest;
}

const round = (x: number) => Math.round(x * 100) / 100;
