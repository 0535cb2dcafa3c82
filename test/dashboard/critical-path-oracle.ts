import type { ActionRecord } from '../../src/dashboard/build-record';

/**
 * The oracle: every path through the recorded build's graph, enumerated by brute force straight from the action
 * timings (no CrateUnit code): a crate's rustc run is its fused run (or its rlib/binary action), its .rmeta comes at
 * the run's rmeta timestamp, and an edge is an `--extern` or the program a command runs.
 */
export function longestPathByEnumeration(actions: ActionRecord[]): { lengthMs: number; names: string[] } {
  const runs = actions.filter((a) => a.fusion !== 'served' && a.kind !== 'rustc-metadata');
  const byCrate = new Map(runs.map((a) => [a.crate ?? a.id, a]));
  const byOutput = new Map(runs.flatMap((a) => a.outputs.map((o) => [o, a.crate ?? a.id] as const)));
  const full = (a: ActionRecord) => a.timings.executionEndMs! - a.timings.executionStartMs!;
  const rmeta = (a: ActionRecord) => (a.timings.rmetaMs ?? a.timings.executionEndMs!) - a.timings.executionStartMs!;
  const deps = (a: ActionRecord) => {
    const out = (a.deps ?? []).filter((d) => byCrate.has(d.crate) && d.crate !== (a.crate ?? a.id));
    const tool = byOutput.get(a.argv[0]);
    if (tool && !out.some((d) => d.crate === tool)) out.push({ crate: tool, needs: 'rlib' });
    return out;
  };
  let best = { lengthMs: -1, names: [] as string[] };
  // Walk backwards from every crate: each path ends with a crate's whole run.
  const walk = (key: string, tail: number, names: string[]) => {
    const a = byCrate.get(key)!;
    const ds = deps(a);
    if (ds.length === 0 && tail > best.lengthMs) best = { lengthMs: tail, names: [a.crateName ?? key, ...names] };
    for (const d of ds) {
      const dep = byCrate.get(d.crate)!;
      walk(d.crate, tail + (d.needs === 'rmeta' ? rmeta(dep) : full(dep)), [a.crateName ?? key, ...names]);
    }
  };
  for (const [key, a] of byCrate) walk(key, full(a), []);
  return best;
}
