import { LRUCache } from 'lru-cache';
import { Code } from '../grpc/status-error';
import { declaredOutputs } from '../rust/rustc-command';
import type { RustActionKind } from '../rust/rust-action-kind';
import type { SchedulerEvent, TaskInfo } from '../scheduler/scheduler-observer';
import type { REv2 } from '../proto';
import type { SubmittedAction } from '../services/submitted-action';
import type { BuildHistory, ClientInfo, QueuedAction } from './build-history';

type Described = Omit<QueuedAction, 'id' | 'queuedMs' | 'carrier'>;

/**
 * Feeds the build history from the scheduler's events, completed by what Execute knew when it submitted the action
 * (command, outputs, crate graph edges, input size, the client's tool and target): the scheduler keeps none of that
 * for observers. The two meet on instance name + action digest; a fused run (no action of its own) learns its crate
 * from the actions it answers.
 */
export class BuildRecorder {
  /** Submitted actions waiting for their task event (normally the very next thing that happens, synchronously). */
  private readonly submitted = new LRUCache<string, Described>({ max: 10_000 });

  constructor(private readonly history: BuildHistory) {}

  /** For the execution service's onSubmit. */
  readonly onSubmit = (s: SubmittedAction): void => {
    const r = s.request;
    this.submitted.set(key(r.instanceName, r.actionDigest.toString()), {
      ...clientInfo(r.invocationId, s.metadata),
      actionDigest: r.actionDigest.toString(),
      mnemonic: r.mnemonic,
      kind: r.rust?.kind ?? 'other',
      crateName: r.rust?.crateName ?? outputName(r.rust?.crate),
      crate: r.rust?.crate,
      deps: r.rust?.deps,
      argv: [...(r.command.arguments ?? [])],
      outputs: declaredOutputs(r.command),
      platform: r.platform.map((p) => ({ name: p.name, value: p.value })),
      inputBytes: s.inputBytes,
      inputFiles: s.inputFiles,
    });
  };

  /** For the action cache service's onHit (GetActionResult hits; Execute's come as scheduler events). */
  readonly onCacheHit = (hit: { invocationId: string; metadata?: REv2.RequestMetadata }): void => {
    this.history.cacheHit(clientInfo(hit.invocationId, hit.metadata), Date.now());
  };

  /** The scheduler events the recorder reads (the scheduler builds no data for the others). */
  static readonly EVENTS: readonly SchedulerEvent['type'][] = ['operation-created', 'task-queued', 'task-started', 'task-completed', 'cache-hit', 'build-updated'];

  /** For SchedulerInsight.observe (with EVENTS). */
  readonly onEvent = (ev: SchedulerEvent): void => {
    switch (ev.type) {
      case 'operation-created':
        // A client action answered by a fused run is never queued itself: it is recorded when it is created.
        if (!ev.merged) this.record(ev.task);
        return;
      case 'task-queued':
        if (ev.attempt === 1) this.record(ev.task);
        return;
      case 'task-started':
        this.history.started(ev.task.id, ev.worker.name, ev.worker.slots, ev.atMs);
        return;
      case 'task-completed': {
        const o = ev.outcome;
        const t = o.timings;
        this.history.completed(ev.task.id, ev.atMs, {
          worker: o.workerName,
          cpuSeconds: o.cpuSeconds,
          exitCode: o.exitCode,
          status: o.code !== Code.OK ? (Code[o.code] ?? String(o.code)) : undefined,
          servedBy: o.servedBy,
          timings: {
            workerStartMs: t.workerStartAtMs,
            inputFetchStartMs: t.inputFetchStartAtMs,
            inputFetchEndMs: t.inputFetchEndAtMs,
            executionStartMs: t.executionStartAtMs,
            executionEndMs: t.executionEndAtMs,
            uploadStartMs: t.outputUploadStartAtMs,
            uploadEndMs: t.outputUploadEndAtMs,
          },
        });
        return;
      }
      case 'cache-hit':
        this.history.cacheHit({ invocationId: ev.invocationId }, ev.atMs);
        return;
      case 'build-updated':
        this.history.accounted(ev.build.invocationId, { fusedPairs: ev.build.fusedPairs, rustcCpuSpentSeconds: ev.build.rustcCpuSeconds, rustcCpuSavedSeconds: ev.build.rustcCpuSavedSeconds });
        return;
      default:
        return; // Other and future event types: nothing to record.
    }
  };

  private record(task: TaskInfo): void {
    const described = task.actionDigest ? this.submitted.get(key(task.instanceName, task.actionDigest)) : undefined;
    if (described) this.submitted.delete(key(task.instanceName, task.actionDigest));
    const invocationId = task.invocationIds[0] ?? '';
    this.history.queued({
      ...(described ?? { invocationId, actionDigest: task.actionDigest, argv: [], outputs: [], platform: [] }),
      id: task.id,
      invocationId,
      mnemonic: described?.mnemonic ?? task.mnemonic,
      kind: described?.kind ?? kindOf(task),
      crateName: described?.crateName ?? task.labels.crate,
      carrier: task.internal,
      queuedMs: task.queuedAtMs,
    });
  }
}

/** The action kind from the scheduler's labels (for runs Execute did not describe: fused runs). */
export function kindOf(task: Pick<TaskInfo, 'labels'>): RustActionKind {
  switch (task.labels.phase) {
    case 'metadata':
      return 'rustc-metadata';
    case 'rlib':
    case 'fused':
      return 'rustc-rlib';
    case 'bin':
      return 'rustc-bin';
    case 'proc-macro':
      return 'rustc-proc-macro';
    default:
      return 'other';
  }
}

function clientInfo(invocationId: string, m: REv2.RequestMetadata | undefined): ClientInfo {
  const tool = m?.toolDetails?.toolName ? `${m.toolDetails.toolName} ${m.toolDetails.toolVersion ?? ''}`.trim() : undefined;
  return { invocationId, tool, targetId: m?.targetId || undefined, correlatedInvocationsId: m?.correlatedInvocationsId || undefined };
}

/** A binary's or proc-macro's name from its output when rustc's flags are in a param file: `bin/wordfreq/wordfreq` → `wordfreq`. */
function outputName(crate: string | undefined): string | undefined {
  const base = crate?.split('/').pop();
  return base?.replace(/^lib(.+?)(-[0-9a-f]+)?\.(so|dylib|dll)$/, '$1') || undefined;
}

function key(instance: string, digest: string): string {
  return `${instance}\n${digest}`;
}
