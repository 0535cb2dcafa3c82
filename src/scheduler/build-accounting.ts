import type { Logger } from 'pino';
import { Clock, systemClock } from './clock';
import { ObserverHub } from './observer-hub';
import { BuildInfo, SchedulerEvent, SchedulerObserver } from './scheduler-observer';

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
 * Per-build (RequestMetadata.tool_invocation_id) counters, kept by observing the scheduler: actions, runs executed,
 * cache hits, fused pairs, rustc CPU seconds spent and saved. A build has no "done" signal in REAPI, so the summary
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

  /** Subscribe this to the scheduler, for these event types. */
  readonly observer: SchedulerObserver = (e) => this.on(e);
  static readonly EVENTS = ['operation-created', 'operation-completed', 'cache-hit', 'task-completed'] as const;

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
    switch (e.type) {
      case 'operation-created': {
        const b = this.build(e.operation.invocationId);
        b.cancelIdle?.();
        b.actions++;
        b.inFlight++;
        return this.touch(b);
      }
      case 'operation-completed': {
        const b = this.build(e.operation.invocationId);
        b.inFlight = Math.max(0, b.inFlight - 1);
        if (b.inFlight === 0) {
          b.cancelIdle?.();
          b.cancelIdle = this.clock.schedule(() => this.summarize(b), this.idleMs);
        }
        return this.touch(b);
      }
      case 'cache-hit': {
        const b = this.build(e.invocationId);
        b.actions++;
        b.cached++;
        return this.touch(b);
      }
      case 'task-completed': {
        // A run that ended on a worker with a result (not one answered by another run, nor cancelled).
        if (e.outcome.exitCode === undefined || e.outcome.servedBy || e.outcome.cancelled) return;
        const b = this.build(e.task.invocationIds[0] ?? '');
        b.executed++;
        if (e.task.actionClass.startsWith('rust-')) {
          b.rustcRuns++;
          b.rustcCpuSeconds += e.outcome.cpuSeconds ?? 0;
        }
        return this.touch(b);
      }
    }
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
