import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCriticalPath } from '../../src/dashboard/build-critical-path';
import { buildDetail } from '../../src/dashboard/build-view';
import { crateUnits } from '../../src/dashboard/crate-units';
import { longestPathByEnumeration } from './critical-path-oracle';
import { fusedRun, recordedBuild } from './build-fixtures';

describe('critical path of a recorded build', () => {
  it('is the longest chain of execution time, exactly as enumerating every path of the recorded timings finds it', () => {
    const build = recordedBuild();
    const shown = buildDetail(build).criticalPath;
    const oracle = longestPathByEnumeration(build.actions);
    assert.equal(shown.lengthMs, oracle.lengthMs);
    assert.deepEqual(
      shown.steps.map((s) => s.name),
      oracle.names,
    );
    assert.equal(
      shown.steps.reduce((n, s) => n + s.durationMs, 0),
      shown.lengthMs,
      'the steps add up to the length',
    );
    for (let i = 1; i < shown.steps.length; i++) assert.equal(shown.steps[i].startMs, shown.steps[i - 1].startMs + shown.steps[i - 1].durationMs);
  });

  it('starts at the process wrapper every rustc action runs, crosses a pipelined .rmeta edge and ends in a binary; shorter than the wall time', () => {
    const build = recordedBuild();
    const { criticalPath, actions } = buildDetail(build);
    const steps = criticalPath.steps;
    assert.equal(steps[0].name, 'process_wrapper');
    assert.ok(steps.some((s) => s.via === 'rmeta'), 'a dependent started at an .rmeta');
    assert.equal(steps.at(-1)!.via, 'end');
    assert.ok(['wordfreq', 'logscan'].includes(steps.at(-1)!.name), `ends in a binary, not ${steps.at(-1)!.name}`);
    assert.ok(criticalPath.lengthMs > 0 && criticalPath.lengthMs < criticalPath.wallMs);
    // Each step names the run that did that part, so the timeline can outline it.
    for (const s of steps) assert.ok(actions.find((a) => a.id === s.actionId && a.lane !== undefined), `${s.name} has a bar`);
  });

  it('charges a pipelined dependent only its dependency’s time to .rmeta', () => {
    // a: .rmeta after 100 ms, done after 1000; b needs a's .rmeta and runs 300; c needs a's rlib and runs 50.
    const units = crateUnits([fusedRun('a', { queued: 0, start: 0, rmeta: 100, end: 1000 }), fusedRun('b', { queued: 100, start: 100, rmeta: 250, end: 400 }, [{ crate: 'a', needs: 'rmeta' }]), fusedRun('c', { queued: 1000, start: 1000, end: 1050 }, [{ crate: 'a', needs: 'rlib' }])]);
    const cp = buildCriticalPath(units);
    assert.equal(cp.lengthMs, 1050);
    assert.deepEqual(
      cp.steps.map((s) => [s.name, s.via, s.durationMs]),
      [
        ['a', 'rlib', 1000],
        ['c', 'end', 50],
      ],
    );
  });
});
