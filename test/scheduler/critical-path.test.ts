import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriticalPath } from '../../src/scheduler/critical-path';

describe('CriticalPath', () => {
  it('is 0 for a crate never seen, and its own duration for a crate nobody depends on', () => {
    const cp = new CriticalPath();
    assert.equal(cp.remainingMs('nope'), 0);
    cp.observe('bin', []);
    cp.measured('bin', { fullMs: 400 });
    assert.equal(cp.remainingMs('bin'), 400);
  });

  it('adds the time to the .rmeta for pipelined dependents and the whole compile for linking ones', () => {
    const cp = new CriticalPath();
    // lib (rmeta 300, full 1000) ← mid (needs lib.rmeta; rmeta 200, full 500) ← bin (needs both .rlibs; 100).
    cp.observe('mid', [{ crate: 'lib', needs: 'rmeta' }]);
    cp.observe('bin', [{ crate: 'mid', needs: 'rlib' }, { crate: 'lib', needs: 'rlib' }]);
    cp.measured('lib', { rmetaMs: 300, fullMs: 1000 });
    cp.measured('mid', { rmetaMs: 200, fullMs: 500 });
    cp.measured('bin', { fullMs: 100 });
    assert.equal(cp.remainingMs('bin'), 100);
    assert.equal(cp.remainingMs('mid'), 600, 'mid.rlib then bin');
    // Via mid: 300 + 600 = 900; directly into bin: 1000 + 100 = 1100.
    assert.equal(cp.remainingMs('lib'), 1100);
  });

  it('ranks the head of a long chain above a crate that is slower on its own', () => {
    const cp = new CriticalPath();
    const chain = ['a', 'b', 'c', 'd'];
    chain.forEach((c, i) => {
      cp.observe(c, i === 0 ? [] : [{ crate: chain[i - 1], needs: 'rmeta' }]);
      cp.measured(c, { rmetaMs: 200, fullMs: 400 });
    });
    cp.observe('big', []);
    cp.measured('big', { rmetaMs: 900, fullMs: 950 });
    assert.equal(cp.remainingMs('a'), 200 * 3 + 400);
    assert.ok(cp.remainingMs('a') > cp.remainingMs('big'));
  });

  it('forgets old edges when a crate is observed again, and survives a cycle from stale paths', () => {
    const cp = new CriticalPath();
    cp.observe('x', [{ crate: 'y', needs: 'rmeta' }]);
    cp.measured('x', { fullMs: 50 });
    cp.measured('y', { rmetaMs: 10, fullMs: 20 });
    assert.equal(cp.remainingMs('y'), 60);
    cp.observe('x', []);
    assert.equal(cp.remainingMs('y'), 20, 'x no longer depends on y');
    cp.observe('x', [{ crate: 'y', needs: 'rmeta' }]);
    cp.observe('y', [{ crate: 'x', needs: 'rmeta' }]);
    assert.ok(Number.isFinite(cp.remainingMs('x')));
  });

  it('updates remembered paths when a measurement or an edge deep in the graph changes', () => {
    const cp = new CriticalPath();
    cp.observe('b', [{ crate: 'a', needs: 'rmeta' }]);
    cp.observe('c', [{ crate: 'b', needs: 'rmeta' }]);
    for (const x of ['a', 'b', 'c']) cp.measured(x, { rmetaMs: 100, fullMs: 200 });
    assert.equal(cp.remainingMs('a'), 400);
    cp.measured('c', { fullMs: 900 });
    assert.equal(cp.remainingMs('a'), 1100, 'a longer leaf lengthens every path to it');
    cp.observe('d', [{ crate: 'a', needs: 'rlib' }]); // a new dependent of an already-ranked crate
    cp.measured('d', { fullMs: 5000 });
    assert.equal(cp.remainingMs('a'), 5200);
    cp.observe('d', [{ crate: 'b', needs: 'rlib' }]); // moves to b
    assert.equal(cp.remainingMs('b'), 5200);
    assert.equal(cp.remainingMs('a'), 5300);
  });

  it('walks a chain of 10,000 crates (deeper than the call stack allows recursion)', () => {
    const cp = new CriticalPath();
    for (let i = 1; i < 10_000; i++) cp.observe(`c${i}`, [{ crate: `c${i - 1}`, needs: 'rmeta' }]);
    for (let i = 0; i < 10_000; i++) cp.measured(`c${i}`, { rmetaMs: 10, fullMs: 20 });
    assert.equal(cp.remainingMs('c0'), 9_999 * 10 + 20, 'each crate until its .rmeta, then the last one whole');
    assert.equal(cp.remainingMs('c9998'), 30);
  });

  it('keeps at most maxCrates crates', () => {
    const cp = new CriticalPath(3);
    for (const c of ['a', 'b', 'c', 'd', 'e']) cp.observe(c, []);
    assert.equal(cp.size, 3);
  });
});
