import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** A recorded build: the crate graph the scheduler learned and what each crate measured (bench/record-rust-profile.ts). */
export interface RustProfile {
  source: string;
  machine: string;
  buildWallMs: number;
  crates: { id: string; deps: { crate: string; needs: 'rmeta' | 'rlib' }[]; rmetaMs?: number; fullMs?: number; parallelism?: number }[];
  /** Durations of the build's non-rustc actions. */
  otherMs: number[];
}

/**
 * One action of a simulated build and its cost, as rustc spends it: a single-threaded front end (type checking etc.,
 * which ends with the .rmeta), then code generation that spreads over every core it can get (rustc sizes its own
 * jobserver to the machine), in CPU milliseconds.
 */
export interface SimAction {
  /** Unique within the build; also its output's stem. */
  name: string;
  kind: 'metadata' | 'rlib' | 'bin' | 'other';
  /** The crate (same id in every build of the same graph, so what one build teaches serves the next). */
  crate?: string;
  /** CPU ms of the front end (to the .rmeta) and of the whole compile; an action with no codegen has frontMs = workMs. */
  frontMs: number;
  workMs: number;
  /** Actions that must finish before this one can start (indices), and the crates it compiles against. */
  deps: number[];
  crateDeps: { crate: string; needs: 'rmeta' | 'rlib' }[];
}

export const PROFILE_FILE = path.join(__dirname, '../../bench/fixtures/rust-example-profile.json');

export function loadProfile(file = PROFILE_FILE): RustProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as RustProfile;
}

/** A small deterministic PRNG (mulberry32), so every run simulates the same builds. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CrateSpec {
  id: string;
  lib: boolean;
  frontMs: number;
  workMs: number;
  deps: { crate: string; needs: 'rmeta' | 'rlib' }[];
  buildScripts: number[];
}

/** The actions of one pipelined build of `crates`: metadata + rlib per library, one action per binary and per build script. */
function actionsOf(crates: CrateSpec[], otherMs: (i: number) => number): SimAction[] {
  const actions: SimAction[] = [];
  const meta = new Map<string, number>();
  const rlib = new Map<string, number>();
  const bin = new Map<string, number>();
  const byId = new Map(crates.map((c) => [c.id, c]));
  // Linking needs every transitive .rlib (a dependency's rlib may finish after its dependent's: each waits only for .rmeta files).
  const closure = (c: CrateSpec, out = new Set<string>()): Set<string> => {
    for (const d of c.deps) if (!out.has(d.crate) && byId.has(d.crate)) closure(byId.get(d.crate)!, out.add(d.crate));
    return out;
  };
  for (const c of crates) {
    const scripts = c.buildScripts.map((ms, k) => actions.push({ name: `${c.id}.build-script-${k}`, kind: 'other', frontMs: otherMs(ms), workMs: otherMs(ms), deps: [], crateDeps: [] }) - 1);
    const needed = c.deps.some((d) => d.needs === 'rlib') ? [...closure(c)].map((crate) => rlib.get(crate) ?? bin.get(crate)) : c.deps.map((d) => meta.get(d.crate));
    const deps = [...scripts, ...needed.filter((i): i is number => i !== undefined)];
    const common = { crate: c.id, frontMs: c.frontMs, workMs: c.workMs, deps, crateDeps: c.deps };
    if (c.lib) {
      meta.set(c.id, actions.push({ ...common, name: `${c.id}.rmeta`, kind: 'metadata' }) - 1);
      rlib.set(c.id, actions.push({ ...common, name: `${c.id}.rlib`, kind: 'rlib' }) - 1);
    } else {
      bin.set(c.id, actions.push({ ...common, name: `${c.id}.bin`, kind: 'bin' }) - 1);
    }
  }
  return actions;
}

/**
 * A recorded crate's cost. The recording machine was shared, so wall times are inflated by waiting for a core; its CPU
 * seconds (wall × measured parallelism) are the work. The front end's share is the time to .rmeta over the full
 * compile's (the two ran separately under the same load), kept within [0.2, 0.95]; a binary is all front end and link.
 */
function cost(c: RustProfile['crates'][number]): { lib: boolean; frontMs: number; workMs: number } {
  const full = c.fullMs ?? c.rmetaMs ?? 0;
  const workMs = full * (c.parallelism ?? 1);
  if (c.rmetaMs === undefined) return { lib: false, frontMs: workMs, workMs };
  return { lib: true, frontMs: workMs * Math.min(0.95, Math.max(0.2, c.rmetaMs / full)), workMs };
}

/** The recorded build itself (crates in dependency order). */
export function recordedBuild(p: RustProfile): SimAction[] {
  const byId = new Map(p.crates.map((c) => [c.id, c]));
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id) || !byId.has(id)) return;
    seen.add(id);
    for (const d of byId.get(id)!.deps) visit(d.crate);
    order.push(id);
  };
  for (const c of p.crates) visit(c.id);
  const specs = order.map((id) => ({ id, ...cost(byId.get(id)!), deps: byId.get(id)!.deps.filter((d) => byId.has(d.crate)), buildScripts: [] }));
  return actionsOf(specs, (ms) => ms);
}

/**
 * A Rust-shaped build of `libs` library crates and `bins` binaries whose costs are drawn from the recorded libraries (each
 * scaled by a random factor in [0.5, 2)): a library depends on up to six earlier ones, skewed towards the foundational
 * crates every workspace has; a binary links twelve; one library in three has a build script. Padded to `total`
 * actions with independent ones. Crate ids carry the seed: builds from the same seed share a graph.
 */
export function syntheticBuild(p: RustProfile, libs: number, bins: number, seed: number, total = 0): SimAction[] {
  const r = rng(seed);
  const measured = p.crates.filter((c) => c.rmetaMs !== undefined && c.fullMs !== undefined).map(cost);
  const others = p.otherMs.length ? p.otherMs : [200];
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const specs: CrateSpec[] = [];
  for (let i = 0; i < libs + bins; i++) {
    const lib = i < libs;
    const m = pick(measured);
    const scale = 0.5 + r() * 1.5;
    const deps = new Map<string, 'rmeta' | 'rlib'>();
    const want = lib ? Math.floor(r() * Math.min(i, 7)) : Math.min(libs, 12);
    for (let k = 0; k < want * 3 && deps.size < want; k++) deps.set(`g${seed}/crate-${Math.floor(Math.min(i, libs) * r() * r())}`, lib ? 'rmeta' : 'rlib');
    specs.push({
      id: `g${seed}/crate-${i}`,
      lib,
      frontMs: lib ? m.frontMs * scale : m.workMs * scale,
      workMs: m.workMs * scale,
      deps: [...deps].map(([crate, needs]) => ({ crate, needs })),
      buildScripts: lib && r() < 1 / 3 ? [pick(others)] : [],
    });
  }
  const actions = actionsOf(specs, (ms) => ms);
  // Up to `total`: independent actions (genrules, tests) that nothing waits for.
  for (let k = 0; actions.length < total; k++) {
    const ms = pick(others);
    actions.push({ name: `g${seed}/genrule-${k}`, kind: 'other', frontMs: ms, workMs: ms, deps: [], crateDeps: [] });
  }
  return actions;
}

/**
 * The same build optimised (-O3): the front end costs the same, code generation grows until the .rmeta comes at 28% of
 * the compile — as measured here for regex-syntax (1.27 s of 4.52 s at -O3, 1.23 s of 1.65 s at -O0; REAPI-NOTES.md).
 */
export function optimised(actions: SimAction[]): SimAction[] {
  return actions.map((a) => (a.kind === 'metadata' || a.kind === 'rlib' ? { ...a, workMs: Math.max(a.workMs, a.frontMs / 0.28) } : a));
}
