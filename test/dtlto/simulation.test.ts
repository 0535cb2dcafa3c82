import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makespan, simulatedLinkMs } from '../../bench/dtlto-simulation';
import { parseLinkArgs } from '../../bench/dtlto.bench';

describe('DTLTO link simulation (bench)', () => {
  it('spreads jobs in order over the worker that frees up first', () => {
    assert.equal(makespan([5, 5, 5, 5], 1), 20);
    assert.equal(makespan([5, 5, 5, 5], 2), 10);
    assert.equal(makespan([10, 1, 1, 1], 2), 10, 'the long job bounds it');
    assert.equal(makespan([1, 1, 1, 10], 2), 11, 'arrival order matters: the long job starts last');
    assert.equal(makespan([3, 4], 128), 4, 'more workers than jobs: the longest job');
    assert.equal(makespan([], 8), 0);
    assert.throws(() => makespan([1], 0), /positive integer/);
  });

  it('adds the serial part and each job\'s overhead', () => {
    const m = { serialMs: 100, jobMs: [10, 20, 30, 40], perJobOverheadMs: 2 };
    assert.equal(simulatedLinkMs(m, 1), 100 + 108);
    assert.equal(simulatedLinkMs(m, 2), 100 + Math.max(12 + 32, 22 + 42));
    assert.equal(simulatedLinkMs(m, 32), 142);
  });

  it('reads the linker command from rustc\'s --print link-args', () => {
    const text = 'note: x\nLC_ALL="C" PATH="/a:/b" VSLANG="1033" "clang-22" "-m64" "/t/a b.o" "-Wl,-plugin-opt=O3" "q\\"x" "-fthinlto-distributor=/d"\n';
    assert.deepEqual(parseLinkArgs(text), ['clang-22', '-m64', '/t/a b.o', '-Wl,-plugin-opt=O3', 'q"x', '-fthinlto-distributor=/d']);
    assert.throws(() => parseLinkArgs('error: nothing'), /no clang link line/);
  });
});
