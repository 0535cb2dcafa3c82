import { CriticalPath } from '../src/scheduler/critical-path';
import { report } from './bench-util';

/**
 * The scheduler's crate-graph bookkeeping for one build of a large workspace: 2,000 crates with 10 dependencies each
 * (a layered graph), every crate observed, ranked when queued and measured when done — as a build would drive it.
 */
export async function criticalPathBench(): Promise<void> {
  const n = 2000;
  const deps = (i: number) => Array.from({ length: Math.min(i, 10) }, (_, k) => ({ crate: `c${Math.floor((i * (k + 7)) / 11) % i}`, needs: 'rmeta' as const }));
  // Every build measures slightly different durations, so every measurement changes what is remembered.
  const build = (cp: CriticalPath, b: number) => {
    for (let i = 0; i < n; i++) {
      cp.observe(`c${i}`, deps(i)); // Execute of the metadata action
      cp.remainingMs(`c${i}`); // queued
    }
    for (let i = 0; i < n; i++) {
      cp.measured(`c${i}`, { rmetaMs: 100 + ((i + b) % 7) * 50, fullMs: 300 + ((i + b) % 5) * 100 });
      cp.remainingMs(`c${(i * 7) % n}`); // the next action queued as this one finishes
    }
  };
  const cp = new CriticalPath();
  build(cp, 0); // first build: learns the graph
  const t = process.hrtime.bigint();
  build(cp, 1); // second build: the graph is known, the durations change
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  report(`critical path: one build of ${n} crates (4k ranks, 2k measurements)`, ms, 'ms', `${((ms * 1000) / (3 * n)).toFixed(1)} µs per scheduler event`);
}
