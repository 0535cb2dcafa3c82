import type { ActionRecord } from './build-record';

export interface Lane {
  worker: string;
  /** 0-based slot index within the worker. */
  slot: number;
}

/** The part of an action that occupied a worker slot: from the worker taking it to the end of the upload. */
export function slotSpan(a: ActionRecord): { startMs: number; endMs: number } | undefined {
  const t = a.timings;
  const startMs = t.workerStartMs ?? t.inputFetchStartMs ?? t.executionStartMs;
  const endMs = t.uploadEndMs ?? t.executionEndMs ?? t.completedMs;
  return startMs !== undefined && endMs !== undefined ? { startMs, endMs: Math.max(startMs, endMs) } : undefined;
}

/**
 * Places each action that ran on a worker into one of that worker's slots, as the timeline draws them: workers do not
 * report a slot number, so actions are packed first-fit by start time (which never needs more lanes than the worker
 * had slots busy at once). Actions answered by a fused run occupy no slot of their own.
 */
export function assignLanes(actions: readonly ActionRecord[]): { lanes: Lane[]; laneOf: Map<string, number> } {
  const lanes: Lane[] = [];
  const laneEnds: number[] = [];
  const laneOf = new Map<string, number>();
  const placed = actions
    .filter((a) => a.worker !== undefined && a.fusion !== 'served')
    .map((a) => ({ a, span: slotSpan(a) }))
    .filter((x): x is { a: ActionRecord; span: { startMs: number; endMs: number } } => x.span !== undefined)
    .sort((x, y) => x.span.startMs - y.span.startMs || x.a.id.localeCompare(y.a.id));
  for (const { a, span } of placed) {
    let i = lanes.findIndex((l, j) => l.worker === a.worker && laneEnds[j] <= span.startMs);
    if (i < 0) {
      i = lanes.length;
      lanes.push({ worker: a.worker!, slot: lanes.filter((l) => l.worker === a.worker).length });
      laneEnds.push(0);
    }
    laneEnds[i] = span.endMs;
    laneOf.set(a.id, i);
  }
  const order = lanes.map((l, i) => i).sort((i, j) => lanes[i].worker.localeCompare(lanes[j].worker) || lanes[i].slot - lanes[j].slot);
  const renumber = new Map(order.map((old, now) => [old, now]));
  return { lanes: order.map((i) => lanes[i]), laneOf: new Map([...laneOf].map(([id, l]) => [id, renumber.get(l)!])) };
}
