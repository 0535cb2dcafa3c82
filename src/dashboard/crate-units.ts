import type { CrateDep, RustActionKind } from '../rust/rust-action-kind';
import type { ActionRecord } from './build-record';

/**
 * One node of a build's graph: a crate (its metadata and rlib actions, or the one fused run serving both), or an
 * action that builds no crate. Durations are rustc's own execution times; `…ReadyMs` are when the client had the
 * output (epoch ms).
 */
export interface CrateUnit {
  key: string;
  /** The crate's name (`--crate-name`), else the action's mnemonic or program. */
  name: string;
  kind: RustActionKind;
  /** Edges to other units of the same build (a dependency served from the cache is not one: it cost nothing here). */
  deps: CrateDep[];
  /** The action that produced the .rmeta (a metadata action or a fused run) and the one that produced everything. */
  rmetaAction?: ActionRecord;
  fullAction?: ActionRecord;
  /** From the start of execution to the .rmeta, and to the end. */
  rmetaMs?: number;
  fullMs?: number;
  /** When the first of its actions reached the server. */
  arrivedMs: number;
  rmetaReadyMs?: number;
  fullReadyMs?: number;
}

/**
 * Groups a build's actions into units and links them: by `--extern` edges, and by the program a command runs when
 * another action of the build produced it (every rules_rust action runs the process wrapper that the build compiled
 * first: it gates them all, though no `--extern` says so).
 */
export function crateUnits(actions: readonly ActionRecord[]): Map<string, CrateUnit> {
  const units = new Map<string, CrateUnit>();
  const served = new Map<string, ActionRecord[]>();
  for (const a of actions) {
    if (a.fusion === 'served' && a.carrierId) served.set(a.carrierId, [...(served.get(a.carrierId) ?? []), a]);
  }
  for (const a of actions) {
    if (a.fusion === 'served' || !ranToTheEnd(a)) continue;
    const key = unitKey(a);
    let u = units.get(key);
    if (!u) {
      u = { key, name: a.crateName ?? a.mnemonic ?? programName(a.argv), kind: a.kind, deps: [], arrivedMs: a.timings.queuedMs };
      units.set(key, u);
    }
    u.arrivedMs = Math.min(u.arrivedMs, a.timings.queuedMs, ...(served.get(a.id) ?? []).map((s) => s.timings.queuedMs));
    if (a.deps) u.deps = a.deps;
    const t = a.timings;
    const run = span(t.executionStartMs, t.executionEndMs);
    if (a.kind === 'rustc-metadata' && a.fusion !== 'carrier') {
      u.rmetaAction = a;
      u.rmetaMs = run;
      u.rmetaReadyMs = t.completedMs;
      continue;
    }
    if (a.kind === 'rustc-rlib' || a.fusion === 'carrier') u.kind = 'rustc-rlib';
    u.fullAction = a;
    u.fullMs = run;
    u.fullReadyMs = t.completedMs;
    if (a.fusion === 'carrier') {
      u.rmetaAction = a;
      u.rmetaMs = span(t.executionStartMs, t.rmetaMs);
      const partners = served.get(a.id) ?? [];
      u.rmetaReadyMs = partners.find((s) => s.kind === 'rustc-metadata')?.timings.completedMs ?? t.rmetaMs;
      u.fullReadyMs = partners.find((s) => s.kind === 'rustc-rlib')?.timings.completedMs ?? t.completedMs;
    }
  }
  linkUnits(units);
  return units;
}

/** A crate's output path without extension; an action building no crate is a unit of its own. */
export function unitKey(a: Pick<ActionRecord, 'id' | 'crate'>): string {
  return a.crate ?? `action:${a.id}`;
}

/** Keeps only edges to units of this build and adds "runs a program this build produced" edges. */
function linkUnits(units: Map<string, CrateUnit>): void {
  const producers = new Map<string, string>();
  for (const u of units.values()) for (const o of u.fullAction?.outputs ?? []) producers.set(o, u.key);
  for (const u of units.values()) {
    const deps = u.deps.filter((d) => d.crate !== u.key && units.has(d.crate));
    const program = (u.fullAction ?? u.rmetaAction)?.argv[0];
    const tool = program !== undefined ? producers.get(program) : undefined;
    if (tool && tool !== u.key && !deps.some((d) => d.crate === tool)) deps.push({ crate: tool, needs: 'rlib' });
    u.deps = deps;
  }
}

/** Time from a unit's start until a dependent needing `needs` could start (execution time, not wall clock). */
export function availableAfterMs(u: CrateUnit, needs: CrateDep['needs']): number {
  return (needs === 'rmeta' ? (u.rmetaMs ?? u.fullMs) : (u.fullMs ?? u.rmetaMs)) ?? 0;
}

/** When a dependent needing `needs` could have started in this build (epoch ms). */
export function readyAtMs(u: CrateUnit, needs: CrateDep['needs']): number | undefined {
  return needs === 'rmeta' ? (u.rmetaReadyMs ?? u.fullReadyMs) : (u.fullReadyMs ?? u.rmetaReadyMs);
}

/** The action that provides what a dependent needs (the metadata action or fused run for an .rmeta). */
export function providingAction(u: CrateUnit, needs: CrateDep['needs'] | 'end'): ActionRecord | undefined {
  return needs === 'rmeta' ? (u.rmetaAction ?? u.fullAction) : (u.fullAction ?? u.rmetaAction);
}

function ranToTheEnd(a: ActionRecord): boolean {
  return a.timings.executionStartMs !== undefined && a.timings.executionEndMs !== undefined && a.status === undefined;
}

function span(start: number | undefined, end: number | undefined): number | undefined {
  return start !== undefined && end !== undefined ? Math.max(0, end - start) : undefined;
}

function programName(argv: string[]): string {
  return (argv[0] ?? 'action').split('/').pop()!;
}
