import type { CrateDep, RustActionKind } from '../rust/rust-action-kind';
import { withoutQuitFlag } from '../rust/rustc-command';
import type { ActionRecord, ActionTimings, BuildRecord } from './build-record';

export interface BuildHistoryOptions {
  /** Builds kept (the oldest is forgotten first). */
  maxBuilds: number;
  /** Actions kept per build; later ones are counted but not recorded, so one huge build cannot exhaust memory. */
  maxActionsPerBuild: number;
  /** A build with nothing in flight for this long is finished (as the scheduler's build summary line). */
  idleMs: number;
  /** Called once each time a build becomes finished. */
  onFinished?: (build: BuildRecord) => void;
}

/** What the client's RequestMetadata says about the build an action belongs to. */
export interface ClientInfo {
  invocationId: string;
  tool?: string;
  targetId?: string;
  correlatedInvocationsId?: string;
}

export interface QueuedAction extends ClientInfo {
  id: string;
  actionDigest: string;
  mnemonic?: string;
  kind: RustActionKind;
  crateName?: string;
  crate?: string;
  deps?: CrateDep[];
  /** A fused rustc run (internal; it answers a crate's metadata and rlib actions). */
  carrier?: boolean;
  argv: string[];
  outputs: string[];
  platform: { name: string; value: string }[];
  inputBytes?: number;
  inputFiles?: number;
  queuedMs: number;
}

/** How a run ended: the worker's phases (epoch ms, its clock) and what the command did. */
export interface RunOutcome {
  worker?: string;
  timings: Omit<ActionTimings, 'queuedMs' | 'completedMs' | 'rmetaMs'>;
  cpuSeconds?: number;
  exitCode?: number;
  /** gRPC code name when the run produced no usable result. */
  status?: string;
  /** The run (a fused rustc) that answered this action instead of a run of its own. */
  servedBy?: string;
}

interface Entry {
  build: BuildRecord;
  action: ActionRecord;
}

interface BuildState {
  inFlight: Set<string>;
  dropped: number;
  idleTimer?: NodeJS.Timeout;
}

const MAX_TARGETS = 500;

/**
 * The last N builds with every action's timings, fed by scheduler and cache events. REAPI has no "build" other than
 * RequestMetadata.tool_invocation_id, so that is the key; actions without one belong to the build "".
 */
export class BuildHistory {
  private readonly builds = new Map<string, BuildRecord>();
  private readonly state = new Map<string, BuildState>();
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: BuildHistoryOptions) {}

  queued(q: QueuedAction): void {
    if (this.entries.has(q.id)) return; // Requeued after a worker loss: the same record.
    const build = this.touch(q, q.queuedMs);
    const st = this.state.get(build.invocationId)!;
    if (build.actions.length >= this.options.maxActionsPerBuild) {
      st.dropped++;
      return;
    }
    const action: ActionRecord = {
      id: q.id,
      actionDigest: q.actionDigest,
      mnemonic: q.mnemonic,
      targetId: q.targetId,
      kind: q.kind,
      crateName: q.crateName,
      crate: q.crate,
      deps: q.deps,
      fusion: q.carrier ? 'carrier' : undefined,
      argv: q.argv,
      outputs: q.outputs,
      platform: q.platform,
      inputBytes: q.inputBytes,
      inputFiles: q.inputFiles,
      timings: { queuedMs: q.queuedMs },
    };
    build.actions.push(action);
    this.entries.set(q.id, { build, action });
    st.inFlight.add(q.id);
    clearTimeout(st.idleTimer);
  }

  /** A worker took the action (its own timestamps come with the outcome). */
  started(id: string, worker: string, slots: number, atMs: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.action.worker = worker;
    e.action.timings.workerStartMs ??= atMs;
    e.build.workerSlots[worker] = slots;
  }

  /** The action is done (`atMs`: when its operation completed, on the server's clock). */
  completed(id: string, atMs: number, o: RunOutcome): void {
    const e = this.entries.get(id);
    if (!e) return;
    const a = e.action;
    a.timings.completedMs = atMs;
    a.status = o.status;
    a.exitCode = o.exitCode;
    if (o.servedBy) this.served(e, o);
    else {
      if (o.worker) a.worker = o.worker;
      Object.assign(a.timings, definedOnly(o.timings));
      a.cpuSeconds = o.cpuSeconds;
    }
    e.build.lastActivityMs = Math.max(e.build.lastActivityMs, atMs);
    const st = this.state.get(e.build.invocationId)!;
    st.inFlight.delete(id);
    this.maybeIdle(e.build, st);
  }

  cacheHit(c: ClientInfo, atMs: number): void {
    const b = this.touch(c, atMs);
    b.cacheHits++;
    b.lastActivityMs = Math.max(b.lastActivityMs, atMs);
    this.maybeIdle(b, this.state.get(b.invocationId)!);
  }

  /** The scheduler's per-build accounting: rustc CPU spent and saved, fused pairs. */
  accounted(invocationId: string, a: Pick<BuildRecord, 'fusedPairs' | 'rustcCpuSpentSeconds' | 'rustcCpuSavedSeconds'>): void {
    const b = this.builds.get(invocationId);
    if (b) Object.assign(b, a);
  }

  get(invocationId: string): BuildRecord | undefined {
    return this.builds.get(invocationId);
  }

  /** Actions of a build not recorded because of maxActionsPerBuild. */
  droppedActions(invocationId: string): number {
    return this.state.get(invocationId)?.dropped ?? 0;
  }

  /** Newest first. */
  list(): BuildRecord[] {
    return [...this.builds.values()].reverse();
  }

  /** Stops the idle timers (shutdown). */
  close(): void {
    for (const st of this.state.values()) clearTimeout(st.idleTimer);
  }

  /**
   * A client action answered by a fused run: its result came from the run (a metadata action's at the .rmeta). The
   * run itself learns from it what only Execute knew: the crate, its dependencies and the command.
   */
  private served(e: Entry, o: RunOutcome): void {
    const a = e.action;
    const carrier = this.entries.get(o.servedBy!);
    a.fusion = 'served';
    a.carrierId = o.servedBy;
    if (!carrier || carrier.build !== e.build) return;
    const c = carrier.action;
    if (a.kind === 'rustc-metadata') c.timings.rmetaMs = o.timings.executionEndMs ?? a.timings.completedMs;
    c.crate ??= a.crate;
    c.crateName ??= a.crateName;
    c.deps ??= a.deps;
    c.targetId ??= a.targetId;
    c.inputBytes ??= a.inputBytes;
    c.inputFiles ??= a.inputFiles;
    if (c.platform.length === 0) c.platform = a.platform;
    // The run executes the rlib action's command (the metadata one without its quit flag) and declares both outputs.
    if (c.argv.length === 0 || a.kind === 'rustc-rlib') c.argv = a.kind === 'rustc-rlib' ? a.argv : withoutQuitFlag(a.argv);
    c.outputs = [...new Set([...c.outputs, ...a.outputs])];
  }

  private maybeIdle(b: BuildRecord, st: BuildState): void {
    if (st.inFlight.size > 0) return;
    clearTimeout(st.idleTimer);
    st.idleTimer = setTimeout(() => {
      if (st.inFlight.size > 0 || b.finished || this.builds.get(b.invocationId) !== b) return;
      b.finished = true;
      this.options.onFinished?.(b);
    }, this.options.idleMs);
    st.idleTimer.unref();
  }

  private touch(c: ClientInfo, atMs: number): BuildRecord {
    let b = this.builds.get(c.invocationId);
    if (!b) {
      b = { invocationId: c.invocationId, targets: [], startedMs: atMs, lastActivityMs: atMs, finished: false, cacheHits: 0, fusedPairs: 0, rustcCpuSpentSeconds: 0, rustcCpuSavedSeconds: 0, workerSlots: {}, actions: [] };
      this.builds.set(c.invocationId, b);
      this.state.set(c.invocationId, { inFlight: new Set(), dropped: 0 });
      while (this.builds.size > this.options.maxBuilds) this.forget(this.builds.keys().next().value as string);
    }
    b.finished = false;
    b.tool ??= c.tool;
    b.correlatedInvocationsId ??= c.correlatedInvocationsId;
    if (c.targetId && b.targets.length < MAX_TARGETS && !b.targets.includes(c.targetId)) b.targets.push(c.targetId);
    return b;
  }

  private forget(invocationId: string): void {
    const b = this.builds.get(invocationId);
    clearTimeout(this.state.get(invocationId)?.idleTimer);
    this.builds.delete(invocationId);
    this.state.delete(invocationId);
    for (const a of b?.actions ?? []) this.entries.delete(a.id);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
