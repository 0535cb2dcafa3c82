import type { CrateDep } from '../rust/rust-action-kind';
import { availableAfterMs, CrateUnit, providingAction } from './crate-units';

/** One link of the critical path: how long this unit held up the next (or, for the last, ran until its end). */
export interface CriticalStep {
  unit: string;
  name: string;
  /** What the next unit waited for: the .rmeta, the whole output, or (last step) the end of the build. */
  via: CrateDep['needs'] | 'end';
  /** The action that ran this part (a metadata action, rlib action or fused run). */
  actionId?: string;
  /** Offset from the path's start, and length, in execution milliseconds. */
  startMs: number;
  durationMs: number;
}

export interface CriticalPathResult {
  /** Sum of the steps: how long the build would take with unlimited workers and no overhead. */
  lengthMs: number;
  steps: CriticalStep[];
}

/**
 * The longest chain of execution time through a build's graph: a unit starts when each dependency has what it needs
 * (the .rmeta for a pipelined dependent, the whole output otherwise) and runs for its own execution time — the model
 * the scheduler ranks its queue by (src/scheduler/critical-path.ts), applied to what this build measured.
 */
export function buildCriticalPath(units: ReadonlyMap<string, CrateUnit>): CriticalPathResult {
  const start = new Map<string, { ms: number; from?: CrateDep }>();
  const visiting = new Set<string>();
  const startOf = (key: string): number => {
    const known = start.get(key);
    if (known) return known.ms;
    const u = units.get(key);
    if (!u || visiting.has(key)) return 0; // A cycle cannot happen in a real build; cut it rather than loop.
    visiting.add(key);
    let best: { ms: number; from?: CrateDep } = { ms: 0 };
    for (const d of u.deps) {
      const dep = units.get(d.crate);
      if (!dep) continue;
      const ms = startOf(d.crate) + availableAfterMs(dep, d.needs);
      if (ms > best.ms || (ms === best.ms && best.from === undefined)) best = { ms, from: d };
    }
    visiting.delete(key);
    start.set(key, best);
    return best.ms;
  };

  let last: CrateUnit | undefined;
  let lengthMs = 0;
  for (const u of units.values()) {
    const end = startOf(u.key) + availableAfterMs(u, 'rlib');
    if (!last || end > lengthMs) [last, lengthMs] = [u, end];
  }
  const steps: CriticalStep[] = [];
  let via: CriticalStep['via'] = 'end';
  for (let u = last; u; ) {
    const at = start.get(u.key)!;
    steps.unshift({ unit: u.key, name: u.name, via, actionId: providingAction(u, via)?.id, startMs: at.ms, durationMs: availableAfterMs(u, via === 'end' ? 'rlib' : via) });
    via = at.from?.needs ?? 'end';
    u = at.from ? units.get(at.from.crate) : undefined;
  }
  return { lengthMs, steps };
}
