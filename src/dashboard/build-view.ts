import type { ActionRecord, BuildRecord } from './build-record';
import { rankBottlenecks } from './bottlenecks';
import { buildCriticalPath } from './build-critical-path';
import { crateUnits, unitKey } from './crate-units';
import type { ActionDetail, BuildDetail, BuildSummary } from './dashboard-api';
import { assignLanes } from './worker-lanes';

const SHOWN_TARGETS = 5;

/** The builds list row. */
export function buildSummary(b: BuildRecord): BuildSummary {
  const client = b.actions.filter((a) => a.fusion !== 'carrier');
  return {
    invocationId: b.invocationId,
    tool: b.tool,
    targets: b.targets.slice(0, SHOWN_TARGETS),
    targetCount: b.targets.length,
    startedMs: b.startedMs,
    durationMs: b.lastActivityMs - b.startedMs,
    finished: b.finished,
    executed: client.filter((a) => a.timings.completedMs !== undefined && a.status === undefined).length,
    cached: b.cacheHits,
    fused: b.fusedPairs,
    rustcRuns: b.actions.filter((a) => a.kind !== 'other' && a.fusion !== 'served' && a.timings.executionEndMs !== undefined).length,
    running: b.actions.filter((a) => a.fusion !== 'served' && a.timings.completedMs === undefined && a.status === undefined).length,
    rustcCpuSpentSeconds: b.rustcCpuSpentSeconds,
    rustcCpuSavedSeconds: b.rustcCpuSavedSeconds,
  };
}

/** The build page: the timeline's lanes and bars, the critical path and the bottleneck table. */
export function buildDetail(b: BuildRecord): BuildDetail {
  const units = crateUnits(b.actions);
  const { lanes, laneOf } = assignLanes(b.actions);
  const summary = buildSummary(b);
  return {
    summary,
    lanes,
    actions: b.actions.map((a) => ({
      id: a.id,
      kind: a.kind,
      mnemonic: a.mnemonic,
      crateName: a.crateName,
      unit: unitKey(a),
      fusion: a.fusion,
      carrierId: a.carrierId,
      worker: a.worker,
      lane: laneOf.get(a.id),
      timings: a.timings,
      exitCode: a.exitCode,
      status: a.status,
    })),
    criticalPath: { ...buildCriticalPath(units), wallMs: summary.durationMs },
    bottlenecks: rankBottlenecks(units, b.startedMs),
  };
}

export function actionDetail(b: BuildRecord, id: string): ActionDetail | undefined {
  const a = b.actions.find((x) => x.id === id);
  if (!a) return undefined;
  const t = a.timings;
  const partners = a.fusion === 'carrier' ? b.actions.filter((x) => x.carrierId === a.id) : b.actions.filter((x) => x.id === a.carrierId);
  return {
    ...a,
    invocationId: b.invocationId,
    queueWaitMs: span(t.queuedMs, t.workerStartMs),
    inputFetchMs: span(t.inputFetchStartMs, t.inputFetchEndMs),
    executionMs: span(t.executionStartMs, t.executionEndMs),
    rmetaAfterMs: span(t.executionStartMs, t.rmetaMs),
    uploadMs: span(t.uploadStartMs, t.uploadEndMs),
    partners: partners.map((p: ActionRecord) => ({ id: p.id, kind: p.kind, mnemonic: p.mnemonic })),
  };
}

function span(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined ? b - a : undefined;
}
