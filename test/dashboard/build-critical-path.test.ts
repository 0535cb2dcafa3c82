import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActionRecord } from '../../src/dashboard/build-record';
import { buildCriticalPath } from '../../src/dashboard/build-critical-path';
import { buildDetail } from '../../src/dashboard/build-view';
import { crateUnits } from '../../src/dashboard/crate-units';
import { longestPathByEnumeration } from './critical-path-oracle';
import { recordedBuild } from './recorded-build';

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
    const mk = (id: string, start: number, rmeta: number | undefined, end: number, deps: ActionRecord['deps'] = []): ActionRecord => ({
      id,
      actionDigest: '',
      kind: 'rustc-rlib',
      crate: id,
      crateName: id,
      deps,
      fusion: 'carrier',
      argv: ['rustc'],
      outputs: [],
      platform: [],
      timings: { queuedMs: 0, executionStartMs: start, rmetaMs: rmeta, executionEndMs: end, completedMs: end },
    });
    // a: .rmeta after 100 ms, done after 1000; b needs a's .rmeta and runs 300; c needs a's rlib and runs 50.
    const units = crateUnits([mk('a', 0, 100, 1000), mk('b', 100, 250, 400, [{ crate: 'a', needs: 'rmeta' }]), mk('c', 1000, undefined, 1050, [{ crate: 'a', needs: 'rlib' }])]);
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
