import type { Logger } from 'pino';
import { Execution } from './execution';
import { BuildInfo } from './scheduler-observer';

interface Build {
  invocationId: string;
  actions: number;
  executed: number;
  cached: number;
  inFlight: number;
  rustcActions: number;
  rustcCpuSpent: number;
  rustcCpuSaved: number;
  fusedPairs: number;
  startedMs: number;
  lastActivityMs: number;
  idleTimer?: NodeJS.Timeout;
}

/**
 * Per-build (RequestMetadata.tool_invocation_id) counters: actions executed, served from the cache, fused, and rustc CPU
 * seconds spent and saved by fusion. A build has no "done" signal in REAPI, so the summary line is logged when its last
 * action completed and nothing new arrived for `idleMs` (again, cumulatively, if it resumes).
 */
export class BuildAccounting {
  private readonly builds_ = new Map<string, Build>();

  constructor(
    private readonly logger: Logger,
    private readonly idleMs = 2000,
    private readonly now: () => number = Date.now,
    /** Told about every change (observers get it as a `build-updated` event). */
    private readonly changed: (b: BuildInfo) => void = () => undefined,
  ) {}

  started(e: Execution): void {
    const b = this.build(e.request.invocationId);
    clearTimeout(b.idleTimer);
    b.actions++;
    b.inFlight++;
    this.touch(b);
  }

  /** A caller joined an action already in flight for some build. */
  merged(invocationId: string): void {
    const b = this.build(invocationId);
    b.actions++;
    this.touch(b);
  }

  cached(invocationId: string): void {
    const b = this.build(invocationId);
    b.actions++;
    b.cached++;
    this.touch(b);
  }

  /** A run finished on a worker. */
  executed(invocationId: string): void {
    const b = this.build(invocationId);
    b.executed++;
    this.touch(b);
  }

  completed(e: Execution): void {
    const b = this.build(e.request.invocationId);
    b.inFlight = Math.max(0, b.inFlight - 1);
    if (b.inFlight === 0) {
      clearTimeout(b.idleTimer);
      b.idleTimer = setTimeout(() => this.summarize(e.request.invocationId), this.idleMs);
      b.idleTimer.unref();
    }
    this.touch(b);
  }

  /** CPU a rustc process group used (one run, fused or not). */
  rustcRun(e: Execution, cpuSeconds: number): void {
    const b = this.build(e.request.invocationId);
    b.rustcActions++;
    b.rustcCpuSpent += cpuSeconds;
    this.touch(b);
  }

  /** One run served both actions of a pair: the metadata action's own run (its CPU up to the .rmeta) was saved. */
  fused(invocationId: string, savedCpuSeconds: number): void {
    const b = this.build(invocationId);
    b.fusedPairs++;
    b.rustcCpuSaved += savedCpuSeconds;
    this.touch(b);
  }

  snapshot(invocationId: string): Readonly<Omit<Build, 'idleTimer'>> | undefined {
    return this.builds_.get(invocationId);
  }

  /** Every build still remembered (the last 1000), oldest first. */
  builds(): BuildInfo[] {
    return [...this.builds_.values()].map(info);
  }

  private touch(b: Build): void {
    b.lastActivityMs = this.now();
    this.changed(info(b));
  }

  private summarize(invocationId: string): void {
    const b = this.builds_.get(invocationId);
    if (!b || b.inFlight > 0) return;
    this.logger.info(
      {
        invocation: invocationId || '(none)',
        actions: b.actions,
        executed: b.executed,
        cached: b.cached,
        rustcRuns: b.rustcActions,
        fusedPairs: b.fusedPairs,
        rustcCpuSpentSeconds: round(b.rustcCpuSpent),
        rustcCpuSavedSeconds: round(b.rustcCpuSaved),
        wallSeconds: round((this.now() - b.startedMs) / 1000),
      },
      `build ${invocationId || '(no invocation id)'}: ${b.actions} actions, rustc CPU ${round(b.rustcCpuSpent)}s spent, ${round(b.rustcCpuSaved)}s saved by fusing ${b.fusedPairs} metadata/rlib pairs`,
    );
  }

  private build(id: string): Build {
    let b = this.builds_.get(id);
    if (!b) {
      const now = this.now();
      b = { invocationId: id, actions: 0, executed: 0, cached: 0, inFlight: 0, rustcActions: 0, rustcCpuSpent: 0, rustcCpuSaved: 0, fusedPairs: 0, startedMs: now, lastActivityMs: now };
      this.builds_.set(id, b);
      if (this.builds_.size > 1000) this.builds_.delete(this.builds_.keys().next().value as string);
    }
    return b;
  }
}

function info(b: Build): BuildInfo {
  return {
    invocationId: b.invocationId,
    actions: b.actions,
    executed: b.executed,
    cached: b.cached,
    fusedPairs: b.fusedPairs,
    rustcRuns: b.rustcActions,
    rustcCpuSeconds: b.rustcCpuSpent,
    rustcCpuSavedSeconds: b.rustcCpuSaved,
    inFlight: b.inFlight,
    startedAtMs: b.startedMs,
    lastActivityMs: b.lastActivityMs,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
