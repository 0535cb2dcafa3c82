import { CrateUnit, readyAtMs } from './crate-units';

export interface Bottleneck {
  unit: string;
  name: string;
  kind: CrateUnit['kind'];
  /** How long dependents waited on this unit's .rmeta, and on its whole output, after everything else they needed was there. */
  waitedOnRmetaMs: number;
  waitedOnRlibMs: number;
  /** Units of this build that could not start before it (transitively), and those that name it directly. */
  blocks: number;
  directDependents: number;
  rmetaMs?: number;
  fullMs?: number;
}

/**
 * Ranks a build's units by what they cost their dependents in this build. A dependent waits on the dependency whose
 * output came last; the time from the moment everything else it needed was there (or the build started) to that
 * output is charged to that dependency, up to when the dependent actually arrived. Ties go to the unit blocking more.
 */
export function rankBottlenecks(units: ReadonlyMap<string, CrateUnit>, buildStartMs: number): Bottleneck[] {
  const rows = new Map<string, Bottleneck>();
  const dependents = new Map<string, string[]>();
  for (const u of units.values()) {
    rows.set(u.key, { unit: u.key, name: u.name, kind: u.kind, waitedOnRmetaMs: 0, waitedOnRlibMs: 0, blocks: 0, directDependents: 0, rmetaMs: u.rmetaMs, fullMs: u.fullMs });
    for (const d of u.deps) dependents.set(d.crate, [...(dependents.get(d.crate) ?? []), u.key]);
  }
  for (const u of units.values()) {
    const ready = u.deps.map((d) => ({ d, at: readyAtMs(units.get(d.crate)!, d.needs) ?? buildStartMs })).sort((a, b) => b.at - a.at);
    if (ready.length === 0) continue;
    const [gate, next] = ready;
    const waited = Math.min(gate.at, u.arrivedMs) - Math.max(next?.at ?? buildStartMs, buildStartMs);
    if (waited <= 0) continue;
    const row = rows.get(gate.d.crate)!;
    if (gate.d.needs === 'rmeta') row.waitedOnRmetaMs += waited;
    else row.waitedOnRlibMs += waited;
  }
  for (const row of rows.values()) {
    row.directDependents = new Set(dependents.get(row.unit)).size;
    row.blocks = reachable(row.unit, dependents);
  }
  return [...rows.values()]
    .filter((r) => r.blocks > 0)
    .sort((a, b) => b.waitedOnRmetaMs + b.waitedOnRlibMs - (a.waitedOnRmetaMs + a.waitedOnRlibMs) || b.blocks - a.blocks || a.name.localeCompare(b.name));
}

function reachable(from: string, edges: Map<string, string[]>): number {
  const seen = new Set<string>();
  const stack = [...(edges.get(from) ?? [])];
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (k === from || seen.has(k)) continue;
    seen.add(k);
    stack.push(...(edges.get(k) ?? []));
  }
  return seen.size;
}
