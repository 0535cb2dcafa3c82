import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildWallMs, scaleSimulation } from '../../bench/scheduler-scale';
import { loadProfile, SimAction } from '../../bench/rust-graph';
import { replay } from '../../bench/scheduler-sim';
import { FakeClock } from '../helpers/fake-clock';

describe('scheduler simulation (bench)', () => {
  it('answers a fused metadata action at its .rmeta, as the server does, and the replay makes the same assignments', async () => {
    // 20 workers of 2 cores, 2 builds of 2,000 actions: more ready work than slots, so a late answer shows.
    const { composed, sim, plan, replayScheduler } = scaleSimulation(loadProfile(), 20, 2);
    const times = await sim.run(plan);
    composed.scheduler.close();
    assert.equal(times.length, 2);
    assert.equal(sim.failures, 0);
    const f = sim.fused;
    console.log(`fused pairs ${f.pairs}: ${f.answeredAtRmeta} answered at the .rmeta, ${f.answeredBeforeExit} before their run exited, ${(f.lateMs / 1000).toFixed(1)} s of delay in all; ${sim.decisions} decisions; builds ${times.map((t) => (t.wallMs / 1000).toFixed(1)).join(' / ')} simulated s`);
    assert.ok(f.pairs >= 1000, `fused pairs: ${f.pairs}`);
    // In the server, microtasks run right after the worker's .rmeta message: the answer is given at the .rmeta.
    assert.equal(f.answeredAtRmeta, f.pairs, 'metadata actions answered only after simulated time moved past their .rmeta');
    assert.equal(f.answeredBeforeExit, f.pairs, 'metadata actions answered only when their run exited');
    assert.equal(f.lateMs, 0);

    const clock = new FakeClock();
    const fresh = replayScheduler(clock);
    const r = await replay(sim.trace!, sim.assignments!, fresh.scheduler, clock, { count: 20, cores: 2 });
    fresh.scheduler.close();
    console.log(`replay: ${r.decisions} decisions, ${r.calls} calls, ${r.drains} drains, ${r.divergent} divergent`);
    assert.equal(r.decisions, sim.decisions);
    assert.equal(r.divergent, 0);
    assert.ok(r.drains >= f.pairs, `the simulation's drains after .rmeta reports are in the trace (${r.drains})`);
  });

  it('shares a worker\'s cores: a front end is one thread, code generation takes every core, and starts when the front end ends', async () => {
    const crate = (name: string, frontMs: number, workMs: number, deps: number[]): SimAction[] => [
      { name: `${name}.rmeta`, kind: 'metadata', crate: name, frontMs, workMs, deps, crateDeps: deps.length ? [{ crate: 'a', needs: 'rmeta' }] : [] },
      { name: `${name}.rlib`, kind: 'rlib', crate: name, frontMs, workMs, deps, crateDeps: deps.length ? [{ crate: 'a', needs: 'rmeta' }] : [] },
    ];
    const rust = { fusion: true, criticalPath: false, sizeAwareSlots: false };
    // One crate alone on 4 cores: 100 ms of front end, then 900 ms of CPU over 4 cores.
    assert.ok(Math.abs((await buildWallMs(crate('a', 100, 1000, []), 1, rust)) - 325) < 1e-6);
    // b needs a's .rmeta: its front end (100 ms) starts at 100 beside a's code generation, 5 threads on 4 cores (0.8
    // each) until 225; then 8 threads (a has 500 ms of CPU left, b 400) at 0.5 each: b ends at 425, a at 425 + 100 / 4.
    const both = [...crate('a', 100, 1000, []), ...crate('b', 100, 500, [0])];
    assert.ok(Math.abs((await buildWallMs(both, 1, rust)) - 450) < 1e-6, `${await buildWallMs(both, 1, rust)}`);
  });
});
