import { CrateDep } from '../rust/crate-deps';
import { CrateNode } from './scheduler-observer';

interface Crate {
  deps: CrateDep[];
  /** Who compiled against this crate last time, and whether they needed its .rmeta or its .rlib. */
  dependents: Map<string, CrateDep['needs']>;
  /** Measured: how long until the .rmeta existed, and until rustc finished (the last run 10 % or more away from the one before: see differs). */
  rmetaMs?: number;
  fullMs?: number;
  /** CPU seconds per wall second of its full runs, the highest seen: the cores it can keep busy. */
  parallelism?: number;
  /** Its remembered remainingMs, valid while memoGeneration is the graph's (on the node: one lookup per ranking). */
  memoMs: number;
  memoGeneration: number;
}

/**
 * The crate graph learned from rustc actions (their `--extern` flags) with measured durations, to order the queue by
 * the longest remaining path instead of by arrival: REAPI never tells a server the build graph, but a Rust build
 * repeats the same one, so what the last build showed is a good guide for the next (HLFET list scheduling).
 */
export class CriticalPath {
  private readonly crates = new Map<string, Crate>();
  /** Remembered remainingMs results are kept (on their crates) until something on a path through them changes, or all go at once when this moves on. */
  private generation = 0;

  constructor(private readonly maxCrates = 20_000) {}

  /** An action of `crate` compiles against `deps` (replaces what was known). */
  observe(crate: string, deps: CrateDep[]): void {
    const c = this.crate(crate);
    if (sameDeps(c.deps, deps)) return; // the usual case: the same graph as last build
    const old = c.deps;
    for (const d of old) this.crates.get(d.crate)?.dependents.delete(crate);
    c.deps = deps;
    for (const d of deps) if (d.crate !== crate) this.crate(d.crate).dependents.set(crate, d.needs);
    this.invalidate([crate, ...old.map((d) => d.crate), ...deps.map((d) => d.crate)]);
  }

  measured(crate: string, m: { rmetaMs?: number; fullMs?: number; cpuSeconds?: number }): void {
    const c = this.crate(crate);
    // The most cores it ever kept busy: a run sharing its worker shows less than the crate can use.
    if (m.fullMs && m.cpuSeconds) c.parallelism = Math.max(c.parallelism ?? 0, (m.cpuSeconds * 1000) / m.fullMs);
    let changed = false;
    if (m.rmetaMs !== undefined && differs(m.rmetaMs, c.rmetaMs)) {
      c.rmetaMs = m.rmetaMs;
      changed = true;
    }
    if (m.fullMs !== undefined && differs(m.fullMs, c.fullMs)) {
      c.fullMs = m.fullMs;
      changed = true;
    }
    if (changed) this.invalidate([crate]);
  }

  /**
   * Longest path from starting `crate` to the end of the build, in measured milliseconds: its own compile, or the
   * time until a dependent can start (the .rmeta or the .rlib, whichever it needs) plus that dependent's own path.
   */
  remainingMs(crate: string): number {
    const c = this.crates.get(crate);
    return c && c.memoGeneration === this.generation ? c.memoMs : this.walk(crate);
  }

  get size(): number {
    return this.crates.size;
  }

  /** Measured cores a crate's full compile kept busy (undefined until measured). */
  parallelism(crate: string): number | undefined {
    return this.crates.get(crate)?.parallelism;
  }

  /** The learned graph as plain data (for the dashboard). */
  snapshot(): CrateNode[] {
    return [...this.crates].map(([id, c]) => ({ id, deps: c.deps.map((d) => ({ crate: d.crate, needs: d.needs })), rmetaMs: c.rmetaMs, fullMs: c.fullMs, parallelism: c.parallelism, remainingMs: this.remainingMs(id) }));
  }

  /**
   * The longest path from `root`, remembering it for every crate on the way: a depth-first walk over dependents with an
   * explicit stack (a chain of crates is as deep as the graph; recursion overflowed the call stack at ~4,000).
   */
  private walk(root: string): number {
    const visiting = new Set<string>();
    const stack: WalkFrame[] = [];
    let value = this.enter(root, visiting, stack) ?? 0; // (a pushed frame sets it when it is done)
    while (stack.length > 0) {
      const f = stack[stack.length - 1];
      if (f.waiting !== undefined) {
        f.best = Math.max(f.best, (f.waiting === 'rmeta' ? f.toRmeta : f.full) + value); // the dependent just walked
        f.waiting = undefined;
      }
      for (let n = f.dependents.next(); !n.done; n = f.dependents.next()) {
        const [d, needs] = n.value;
        const v = this.enter(d, visiting, stack);
        if (v === undefined) {
          f.waiting = needs; // walked first, then this frame resumes
          break;
        }
        f.best = Math.max(f.best, (needs === 'rmeta' ? f.toRmeta : f.full) + v);
      }
      if (f.waiting !== undefined) continue;
      stack.pop();
      visiting.delete(f.id);
      f.c.memoMs = f.best;
      f.c.memoGeneration = this.generation;
      value = f.best;
    }
    return value;
  }

  /** A crate's path if known without walking (0: unknown, or a cycle left by stale paths); else its frame is pushed. */
  private enter(id: string, visiting: Set<string>, stack: WalkFrame[]): number | undefined {
    const c = this.crates.get(id);
    if (!c) return 0;
    if (c.memoGeneration === this.generation) return c.memoMs;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const full = c.fullMs ?? c.rmetaMs ?? 0;
    stack.push({ id, c, dependents: c.dependents.entries(), best: full, full, toRmeta: c.rmetaMs ?? full, waiting: undefined });
    return undefined;
  }

  /**
   * Forgets the remembered paths that can run through `start`: theirs and, transitively, those of the crates they
   * depend on. A crate with nothing remembered had no remembered path run through it, so the walk stops there
   * (except at `start`, whose edges may just have changed).
   */
  private invalidate(start: string[]): void {
    const stack: string[] = [];
    const push = (id: string) => {
      const deps = this.crates.get(id)?.deps;
      if (deps) for (let i = 0; i < deps.length; i++) stack.push(deps[i].crate);
    };
    for (const id of start) {
      this.forget(id);
      push(id);
    }
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (this.forget(id)) push(id);
    }
  }

  /** Drops what is remembered for `id`; false when nothing was. */
  private forget(id: string): boolean {
    const c = this.crates.get(id);
    if (!c || c.memoGeneration !== this.generation) return false;
    c.memoGeneration = -1;
    return true;
  }

  private crate(id: string): Crate {
    let c = this.crates.get(id);
    if (!c) {
      c = { deps: [], dependents: new Map(), memoMs: 0, memoGeneration: -1 };
      this.crates.set(id, c);
      // Bounded: forget the oldest crate (its edges become unknown, which only weakens the ordering).
      if (this.crates.size > this.maxCrates) {
        this.crates.delete(this.crates.keys().next().value as string);
        this.generation++;
      }
    }
    return c;
  }
}

/** A crate being walked: its dependents still to visit and its longest path so far. */
interface WalkFrame {
  id: string;
  c: Crate;
  dependents: Iterator<[string, CrateDep['needs']]>;
  best: number;
  full: number;
  toRmeta: number;
  /** What it needs of the dependent being walked above it on the stack. */
  waiting: CrateDep['needs'] | undefined;
}

/**
 * A new duration worth re-ranking for: unknown before, or 10 % or more away from the known one. Runs of one crate vary
 * by a few percent with the load on their worker; taking each jitter forgot the remembered paths upstream of the crate
 * (in the scale bench, 85 % of measurements did, and keeping the graph cost 12 % of the scheduler's CPU) for an order
 * that hardly moves.
 */
function differs(ms: number, known: number | undefined): boolean {
  return known === undefined || (ms !== known && Math.abs(ms - known) >= known * NOISE);
}

const NOISE = 0.1;

function sameDeps(a: CrateDep[], b: CrateDep[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].crate !== b[i].crate || a[i].needs !== b[i].needs) return false;
  return true;
}
