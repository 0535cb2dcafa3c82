import type { Logger } from 'pino';
import { re, REv2, WorkerPb } from '../proto';
import { withoutQuitFlag } from '../rust/rustc-command';
import { Execution, ExecutionRequest } from './execution';
import { restrictOutputs } from './restrict-outputs';

/** What the fusion coordinator needs from the scheduler. */
export interface FusionHost {
  /** Queues an internal execution for dispatch. */
  enqueue(request: ExecutionRequest): Execution;
  /** Completes a client execution with a worker's answer from run `servedBy` (the sink writes the AC by policy). */
  completeWith(e: Execution, finished: WorkerPb.IExecutionFinished, servedBy: string): Promise<void>;
  /** One run served both actions of a pair. */
  fused(invocationId: string, savedCpuSeconds: number): void;
}

interface Pair {
  carrier: Execution;
  metadata?: Execution;
  rlib?: Execution;
  rmeta?: WorkerPb.IRmetaReady;
  final?: WorkerPb.IExecutionFinished;
  credited?: boolean;
}

/**
 * Runs rustc once for a crate's RustcMetadata/Rustc pair: an internal "carrier" execution runs the full invocation
 * (the metadata command without `--rustc-quit-on-rmeta`, or the Rustc command itself) and watches for the .rmeta.
 * The metadata action completes when the .rmeta appears; the Rustc action when rustc exits — whichever arrives
 * first, and even if the other arrives while the run is queued, running or already finished. Each gets a result with
 * only its own declared outputs; the sink stores it under its own action digest.
 */
export class RustFusion {
  private readonly pairs = new Map<string, Pair>();
  private readonly byCarrier = new Map<string, Pair>();

  constructor(
    private readonly host: FusionHost,
    private readonly logger: Logger,
    /** A finished run keeps answering late partners this long. */
    private readonly retainMs = 10 * 60_000,
  ) {}

  /** Takes over a metadata or rlib execution; false means it cannot be fused and runs on its own. */
  attach(e: Execution): boolean {
    const rust = e.request.rust;
    if (!rust?.pairKey || !rust.rmetaPath || !rust.rlibPath || (rust.kind !== 'rustc-metadata' && rust.kind !== 'rustc-rlib')) return false;
    const slot = rust.kind === 'rustc-metadata' ? 'metadata' : 'rlib';
    let p = this.pairs.get(rust.pairKey);
    if (p?.[slot] && !p[slot]!.done) return false; // A different action with the same key is already being served.
    if (!p || (p[slot] && p[slot]!.done)) {
      // First of the pair (or a fresh round after a finished one): start the one full run.
      p = { carrier: this.host.enqueue(carrierRequest(e)) };
      this.pairs.set(rust.pairKey, p);
      this.byCarrier.set(p.carrier.id, p);
      p.carrier.subscribe((c) => this.mirrorStage(p!, c));
      this.logger.debug({ crate: rust.crateName, first: rust.kind, carrier: p.carrier.id }, 'fused rustc run queued');
    }
    p[slot] = e;
    if (slot === 'metadata') {
      if (p.rmeta) void this.complete(p, e, { executionId: p.carrier.id, status: { code: 0 }, result: p.rmeta.result });
      else if (p.final) void this.complete(p, e, p.final);
      else p.carrier.critical = true; // Someone now waits for this .rmeta: run it first.
    } else if (p.final) {
      void this.complete(p, e, p.final);
    }
    if (!e.done && p.carrier.stage === 'EXECUTING') e.setStage('EXECUTING');
    return true;
  }

  isCarrier(e: Execution): boolean {
    return this.byCarrier.has(e.id);
  }

  /** The carrier's .rmeta is in place: answer the metadata action now (the caller then dispatches more work). */
  rmetaReady(carrier: Execution, ready: WorkerPb.IRmetaReady): void {
    const p = this.byCarrier.get(carrier.id);
    if (!p || p.rmeta) return;
    p.rmeta = ready;
    carrier.critical = false;
    if (p.metadata && !p.metadata.done) void this.complete(p, p.metadata, { executionId: carrier.id, status: { code: 0 }, result: ready.result });
  }

  /** The carrier ended (finished, failed, timed out or gave up): answer whoever still waits. */
  async carrierFinished(carrier: Execution, finished: WorkerPb.IExecutionFinished): Promise<void> {
    const p = this.byCarrier.get(carrier.id);
    if (!p) return;
    p.final = finished;
    // Errors before the .rmeta fail both actions with the same diagnostics; after it, only the Rustc action.
    await Promise.all([p.metadata, p.rlib].filter((f): f is Execution => !!f && !f.done).map((f) => this.complete(p, f, finished)));
    setTimeout(() => {
      this.byCarrier.delete(carrier.id);
      const key = carrier.request.rust?.pairKey;
      if (key && this.pairs.get(key) === p) this.pairs.delete(key);
    }, this.retainMs).unref();
  }

  private async complete(p: Pair, f: Execution, finished: WorkerPb.IExecutionFinished): Promise<void> {
    await this.host.completeWith(f, restrictOutputs(finished, f.request.command), p.carrier.id);
    if (!p.credited && p.metadata?.done && p.rlib?.done) {
      p.credited = true;
      this.host.fused(f.request.invocationId, p.rmeta?.cpuSeconds ?? 0);
    }
  }

  private mirrorStage(p: Pair, c: Execution): void {
    if (c.stage === 'COMPLETED') return;
    for (const f of [p.metadata, p.rlib]) if (f && !f.done) f.setStage(c.stage);
  }
}

/** The full rustc invocation, declaring both the .rmeta and the .rlib, watched for the .rmeta. */
function carrierRequest(e: Execution): ExecutionRequest {
  const r = e.request;
  const rust = r.rust!;
  const cmd = r.command;
  const addOutputs = (xs: string[] | null | undefined) => [...new Set([...(xs ?? []), rust.rmetaPath!, rust.rlibPath!])];
  const command = re.Command.create({
    ...cmd,
    arguments: withoutQuitFlag(cmd.arguments ?? []),
    ...(cmd.outputPaths?.length ? { outputPaths: addOutputs(cmd.outputPaths) } : { outputFiles: addOutputs(cmd.outputFiles) }),
  } as REv2.Command);
  return { ...r, command, carrier: true, watchRmeta: rust.rmetaPath };
}
