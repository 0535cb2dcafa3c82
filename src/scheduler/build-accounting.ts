import type { Logger } from 'pino';
import { Execution } from './execution';

interface Build {
  actions: number;
  inFlight: number;
  rustcActions: number;
  rustcCpuSpent: number;
  rustcCpuSaved: number;
  fusedPairs: number;
  startedMs: number;
  idleTimer?: NodeJS.Timeout;
}

/**
 * Per-build (RequestMetadata.tool_invocation_id) counters: rustc CPU seconds spent and saved by fusion. A build has no
 * "done" signal in REAPI, so the summary line is logged when its last action completed and nothing new arrived for
 * `idleMs` (again, cumulatively, if it resumes).
 */
export class BuildAccounting {
  private readonly builds = new Map<string, Build>();

  constructor(
    private readonly logger: Logger,
    private readonly idleMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  started(e: Execution): void {
    const b = this.build(e.request.invocationId);
    clearTimeout(b.idleTimer);
    b.actions++;
    b.inFlight++;
  }

  completed(e: Execution): void {
    const b = this.build(e.request.invocationId);
    b.inFlight = Math.max(0, b.inFlight - 1);
    if (b.inFlight === 0) {
      clearTimeout(b.idleTimer);
      b.idleTimer = setTimeout(() => this.summarize(e.request.invocationId), this.idleMs);
      b.idleTimer.unref();
    }
  }

  /** CPU a rustc process group used (one run, fused or not). */
  rustcRun(e: Execution, cpuSeconds: number): void {
    const b = this.build(e.request.invocationId);
    b.rustcActions++;
    b.rustcCpuSpent += cpuSeconds;
  }

  /** One run served both actions of a pair: the metadata action's own run (its CPU up to the .rmeta) was saved. */
  fused(invocationId: string, savedCpuSeconds: number): void {
    const b = this.build(invocationId);
    b.fusedPairs++;
    b.rustcCpuSaved += savedCpuSeconds;
  }

  snapshot(invocationId: string): Readonly<Omit<Build, 'idleTimer'>> | undefined {
    return this.builds.get(invocationId);
  }

  private summarize(invocationId: string): void {
    const b = this.builds.get(invocationId);
    if (!b || b.inFlight > 0) return;
    this.logger.info(
      {
        invocation: invocationId || '(none)',
        actions: b.actions,
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
    let b = this.builds.get(id);
    if (!b) {
      b = { actions: 0, inFlight: 0, rustcActions: 0, rustcCpuSpent: 0, rustcCpuSaved: 0, fusedPairs: 0, startedMs: this.now() };
      this.builds.set(id, b);
      if (this.builds.size > 1000) this.builds.delete(this.builds.keys().next().value as string);
    }
    return b;
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
