import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rankBottlenecks } from '../../src/dashboard/bottlenecks';
import { crateUnits } from '../../src/dashboard/crate-units';
import { fusedRun, recordedBuild } from './build-fixtures';

describe('bottleneck crates', () => {
  it('charges each dependent’s wait to the dependency that came last, from when the others were there', () => {
    // slow's .rmeta comes at 900, quick's at 100: app (needs both) waited 800 ms on slow alone.
    const actions = [
      fusedRun('quick', { queued: 0, start: 0, rmeta: 100, end: 200 }),
      fusedRun('slow', { queued: 0, start: 0, rmeta: 900, end: 1500 }),
      fusedRun('app', { queued: 900, start: 900, end: 1200 }, [
        { crate: 'quick', needs: 'rmeta' },
        { crate: 'slow', needs: 'rmeta' },
      ]),
      fusedRun('tool', { queued: 1500, start: 1500, end: 1600 }, [{ crate: 'slow', needs: 'rlib' }]),
    ];
    const rows = rankBottlenecks(crateUnits(actions), 0);
    assert.deepEqual(
      rows.map((r) => [r.name, r.waitedOnRmetaMs, r.waitedOnRlibMs, r.blocks, r.directDependents]),
      [
        ['slow', 800, 1500, 2, 2],
        ['quick', 0, 0, 1, 1],
      ],
    );
  });

  it('ranks the recorded build’s crates with their real names: the process wrapper blocks every other crate', () => {
    const build = recordedBuild();
    const rows = rankBottlenecks(crateUnits(build.actions), build.startedMs);
    const wrapper = rows.find((r) => r.name === 'process_wrapper')!;
    assert.equal(wrapper.blocks, 16);
    assert.equal(rows[0].name, 'process_wrapper', 'nothing can start before it in a clean build');
    const names = rows.map((r) => r.name);
    for (const crate of ['regex', 'regex_syntax', 'memchr', 'serde', 'aho_corasick']) assert.ok(names.includes(crate), `${crate} is ranked`);
    const memchr = rows.find((r) => r.name === 'memchr')!;
    assert.ok(memchr.waitedOnRmetaMs > 0 && memchr.blocks >= 3, 'memchr held up its dependents on its .rmeta');
    for (let i = 1; i < rows.length; i++) {
      const total = (r: (typeof rows)[number]) => r.waitedOnRmetaMs + r.waitedOnRlibMs;
      assert.ok(total(rows[i - 1]) > total(rows[i]) || (total(rows[i - 1]) === total(rows[i]) && rows[i - 1].blocks >= rows[i].blocks), 'sorted by wait, then blocks');
    }
  });
});
