import type { Logger } from 'pino';
import { Code } from '../grpc/status-error';
import { re, REv2, WorkerPb } from '../proto';
import { withoutQuitFlag } from '../rust/rustc-command';
import { copyRequest, ExecutionRequest } from './execution';
import { restrictOutputs } from './restrict-outputs';
import { PartialResult, SchedulerHost, SchedulerPolicy, TaskRun } from './scheduler-policy';
import type { Task } from './task';

interface Pair {
  carrier: Task;
  metadata?: Task;
  rlib?: Task;
  rmeta?: PartialResult;
  final?: WorkerPb.IExecutionFinished;
  credited?: boolean;
}

/**
 * Runs rustc once for a crate's RustcMetadata/Rustc pair (a scheduler policy): an internal "carrier" task runs the full
 * invocation (the metadata command without `--rustc-quit-on-rmeta`, or the Rustc command itself) and watches for the
 * .rmeta. The metadata action completes when the .rmeta appears; the Rustc action when rustc exits — whichever arrives
 * first, and even if the other arrives while the run is queued, running or already finished. Each gets a result with
 * only its own declared outputs; the sink stores it under its own action digest.
 */
export class RustFusion implements SchedulerPolicy {
  private readonly pairs = new Map<string, Pair>();
  /** By carrier task (object keys: no id string is hashed per lookup). */
  private readonly byCarrier = new Map<Task, Pair>();
  /** Finished pairs in the order they finished, forgotten `retainMs` later (a FIFO swept on use, not a timer each). */
  private readonly retained: { pair: Pair; untilMs: number }[] = [];
  private retainedHead = 0;
  private host!: SchedulerHost;

  constructor(
    private readonly logger: Logger,
    /** One run served both actions of a pair (the metadata action's own run, its CPU up to the .rmeta, was saved). */
    private readonly onFused: (invocationId: string, savedCpuSeconds: number) => void = () => undefined,
    /** A finished run keeps answering late partners this long. */
    private readonly retainMs = 10 * 60_000,
  ) {}

  attach(host: SchedulerHost): void {
    this.host = host;
  }

  /** Takes over a metadata or rlib task; false means it cannot be fused and runs on its own. */
  adopt(t: Task): boolean {
    const rust = t.request.rust;
    if (!rust?.pairKey || !rust.rmetaPath || !rust.rlibPath || (rust.kind !== 'rustc-metadata' && rust.kind !== 'rustc-rlib')) return false;
    this.forgetExpired();
    const isMetadata = rust.kind === 'rustc-metadata';
    let p = this.pairs.get(rust.pairKey);
    // (Each side by name: a computed key, p[slot], went through V8's megamorphic keyed-store stub here.)
    const before = p && (isMetadata ? p.metadata : p.rlib);
    if (before && !before.done) return false; // A different action with the same key is already being served.
    if (!p || before?.done || p.carrier.cancelled) {
      // First of the pair (or a fresh round after a finished or abandoned one): start the one full run.
      p = { carrier: this.host.submitInternal(carrierRequest(t)) };
      this.pairs.set(rust.pairKey, p);
      this.byCarrier.set(p.carrier, p);
      if (this.logger.isLevelEnabled('debug')) this.logger.debug({ crate: rust.crateName, first: rust.kind, carrier: p.carrier.id }, 'fused rustc run queued');
    }
    if (isMetadata) {
      p.metadata = t;
      if (p.rmeta) void this.complete(p, t, { executionId: p.carrier.id, status: { code: 0 }, result: p.rmeta.result });
      else if (p.final) void this.complete(p, t, p.final);
      else this.host.rerank(p.carrier); // Someone now waits for this .rmeta: it may run sooner.
    } else {
      p.rlib = t;
      if (p.final) void this.complete(p, t, p.final);
    }
    if (!t.done && p.carrier.stage === 'EXECUTING') this.host.setStage(t, 'EXECUTING');
    return true;
  }

  /** A queued run whose .rmeta an action waits for (so it unblocks dependents, like a metadata action). */
  awaitsMetadata(t: Task): boolean {
    if (!t.internal) return false; // Only a carrier (an internal task) serves a metadata action.
    const p = this.byCarrier.get(t);
    return !!p && !p.rmeta && !!p.metadata && !p.metadata.done;
  }

  /** The carrier's .rmeta is in place: answer the metadata action now. */
  partial(t: Task, ready: PartialResult): void {
    const p = this.byCarrier.get(t);
    if (!p || p.rmeta) return;
    p.rmeta = ready;
    if (p.metadata && !p.metadata.done) void this.complete(p, p.metadata, { executionId: t.id, status: { code: 0 }, result: ready.result });
  }

  /** The carrier ended (finished, failed, timed out or gave up): answer whoever still waits. */
  finished(t: Task, finished: WorkerPb.IExecutionFinished): Promise<void> | undefined {
    const p = this.byCarrier.get(t);
    return p ? this.ended(p, finished) : undefined;
  }

  /** A partner's last operation went away: stop the run when nobody else waits for it. */
  cancelled(t: Task): void {
    const carrier = this.byCarrier.get(t);
    if (carrier) return void this.ended(carrier, { executionId: t.id, status: { code: Code.CANCELLED, message: 'the fused rustc run was cancelled' } });
    const key = t.request.rust?.pairKey;
    const p = key ? this.pairs.get(key) : undefined;
    if (!p || (p.metadata !== t && p.rlib !== t) || p.final) return;
    const waiting = [p.metadata, p.rlib].some((x) => x && x !== t && !x.done);
    if (!waiting) this.host.cancel(p.carrier, 'both actions of the fused pair were cancelled');
  }

  private ended(p: Pair, finished: WorkerPb.IExecutionFinished): Promise<void> | undefined {
    if (p.final) return undefined;
    p.final = finished;
    this.retained.push({ pair: p, untilMs: this.host.now() + this.retainMs });
    this.forgetExpired();
    // Errors before the .rmeta fail both actions with the same diagnostics; after it, only the Rustc action.
    const metadata = p.metadata && !p.metadata.done ? this.complete(p, p.metadata, finished) : undefined;
    const rlib = p.rlib && !p.rlib.done ? this.complete(p, p.rlib, finished) : undefined;
    // (Chained rather than Promise.all: cheaper, and both are already under way.)
    return metadata && rlib ? metadata.then(() => rlib) : (metadata ?? rlib);
  }

  private forgetExpired(): void {
    const now = this.host.now();
    while (this.retainedHead < this.retained.length && this.retained[this.retainedHead].untilMs <= now) {
      const p = this.retained[this.retainedHead++].pair;
      this.byCarrier.delete(p.carrier);
      const key = p.carrier.request.rust?.pairKey;
      if (key && this.pairs.get(key) === p) this.pairs.delete(key);
    }
    if (this.retainedHead > 1024 && this.retainedHead * 2 > this.retained.length) {
      this.retained.splice(0, this.retainedHead);
      this.retainedHead = 0;
    }
  }

  /** Mirrors the carrier's stage onto the actions it serves. */
  stageChanged(t: Task): void {
    if (!t.internal) return;
    const p = this.byCarrier.get(t);
    if (!p || t.stage === 'COMPLETED') return;
    if (p.metadata && !p.metadata.done) this.host.setStage(p.metadata, t.stage);
    if (p.rlib && !p.rlib.done) this.host.setStage(p.rlib, t.stage);
  }

  private complete(p: Pair, f: Task, finished: WorkerPb.IExecutionFinished): Promise<void> {
    return this.host.completeWith(f, restrictOutputs(finished, f.request.command), p.carrier);
  }

  /** A task a carrier answered is complete: once both actions of its pair are, tell the accounting (once). */
  completed(f: Task, _response: unknown, _actionClass: string, run: TaskRun | undefined): void {
    if (run?.servedBy === undefined) return;
    const p = this.byCarrier.get(run.servedBy);
    if (!p || p.credited || (p.metadata !== f && p.rlib !== f)) return;
    if (p.metadata?.done && p.rlib?.done && !p.metadata.cancelled && !p.rlib.cancelled) {
      p.credited = true;
      this.onFused(f.request.invocationId, p.rmeta?.cpuSeconds ?? 0);
    }
  }
}

/** The full rustc invocation, declaring both the .rmeta and the .rlib, watched for the .rmeta. */
function carrierRequest(t: Task): ExecutionRequest {
  const r = t.request;
  const rust = r.rust!;
  const cmd = r.command;
  // A Command sharing the original's fields (lists too: those changed below are replaced, not edited). Not create():
  // its constructor makes six empty lists and lists the keys first, and this object lives as long as the run.
  const command = Object.assign(Object.create(re.Command.prototype) as REv2.Command, cmd);
  command.arguments = withoutQuitFlag(cmd.arguments ?? []);
  if (cmd.outputPaths?.length) command.outputPaths = withOutputs(cmd.outputPaths, rust.rmetaPath!, rust.rlibPath!);
  else command.outputFiles = withOutputs(cmd.outputFiles, rust.rmetaPath!, rust.rlibPath!);
  const carrier = copyRequest(r);
  carrier.command = command;
  carrier.carrier = true;
  carrier.watchRmeta = rust.rmetaPath;
  return carrier;
}

/** `xs` with `a` and `b` added unless already there (a copy). */
function withOutputs(xs: string[] | null | undefined, a: string, b: string): string[] {
  const out = xs ? xs.slice() : [];
  if (!out.includes(a)) out.push(a);
  if (!out.includes(b)) out.push(b);
  return out;
}
