import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActionRecord } from '../../src/dashboard/build-record';
import { assignLanes, slotSpan } from '../../src/dashboard/worker-lanes';
import { recordedBuild } from './build-fixtures';

const at = (id: string, worker: string | undefined, start: number, end: number, fusion?: ActionRecord['fusion']): ActionRecord => ({
  id,
  actionDigest: '',
  kind: 'other',
  fusion,
  worker,
  argv: [],
  outputs: [],
  platform: [],
  timings: { queuedMs: 0, workerStartMs: start, uploadEndMs: end },
});

describe('worker lanes', () => {
  it('packs overlapping runs of a worker into as many slots as ran at once, and skips actions a fused run answered', () => {
    const { lanes, laneOf } = assignLanes([at('a', 'w2', 0, 100), at('b', 'w2', 50, 150), at('c', 'w2', 100, 200), at('d', 'w1', 0, 10), at('e', undefined, 0, 5), at('f', 'w1', 0, 10, 'served')]);
    assert.deepEqual(lanes, [
      { worker: 'w1', slot: 0 },
      { worker: 'w2', slot: 0 },
      { worker: 'w2', slot: 1 },
    ]);
    assert.deepEqual(Object.fromEntries(laneOf), { d: 0, a: 1, b: 2, c: 1 });
  });

  it('never draws two runs of the recorded build over each other in one lane', () => {
    const build = recordedBuild();
    const { lanes, laneOf } = assignLanes(build.actions);
    assert.equal(lanes.length, 2, 'two one-slot workers');
    for (let l = 0; l < lanes.length; l++) {
      const spans = build.actions.filter((a) => laneOf.get(a.id) === l).map((a) => slotSpan(a)!).sort((x, y) => x.startMs - y.startMs);
      for (let i = 1; i < spans.length; i++) assert.ok(spans[i].startMs >= spans[i - 1].endMs);
    }
  });
});
