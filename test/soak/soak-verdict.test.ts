import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SoakMinute } from './soak';
import { flatness } from './soak-verdict';

const series = (heap: number[], rss: number[]): SoakMinute[] =>
  heap.map((h, i) => ({ minute: i + 1, calls: 1000, errors: 0, p99Ms: 50, rssMiB: rss[i], heapMinMiB: h + 5, heapMaxMiB: h + 40, liveMiB: h, majorGcs: Number.isNaN(h) ? 0 : 2, casEvictions: 0, acEvictions: 0 }));

describe('soak flatness verdict', () => {
  const limits = { warmup: 2, heapMargin: 1.1, rssMargin: 1.1 };

  it('passes memory that only wobbles after warm-up, ignoring the warm-up and a lone spike', () => {
    const f = flatness(series([5, 15, 22, 24, 21, 60, 23, 22], [100, 180, 200, 205, 198, 260, 203, 201]), limits);
    assert.ok(f.ok, f.verdict);
    assert.deepEqual([f.heap.early, f.heap.late], [22, 23]);
    assert.match(f.verdict, /^FLAT: after 2 warm-up intervals, median live heap 22 → 23 MiB/);
  });

  it('fails a heap floor that keeps rising (a leak of 2 MiB per interval), naming the limit exceeded', () => {
    const f = flatness(series([5, 15, 20, 22, 24, 26, 28, 30], [100, 180, 200, 200, 200, 200, 200, 200]), limits);
    assert.equal(f.ok, false);
    assert.equal(f.heap.ratio, 1.273); // medians 22 → 28
    assert.match(f.verdict, /^NOT FLAT: .*limit ×1.1 EXCEEDED\), median RSS/);
  });

  it('fails an RSS that keeps rising while the heap is flat', () => {
    const f = flatness(series([5, 15, 20, 20, 20, 20, 20, 20], [100, 180, 200, 215, 230, 245, 260, 275]), limits);
    assert.equal(f.ok, false);
    assert.match(f.verdict, /median RSS .* EXCEEDED/);
  });

  it('leaves out intervals without a full collection, and fails a half with none', () => {
    assert.ok(flatness(series([5, 15, 20, NaN, 21, NaN], [100, 180, 200, 200, 200, 200]), limits).ok);
    const f = flatness(series([5, 15, 20, 20, NaN, NaN], [100, 180, 200, 200, 200, 200]), limits);
    assert.equal(f.ok, false, f.verdict);
  });

  it('refuses to judge with fewer than 2 intervals after warm-up', () => {
    assert.throws(() => flatness(series([1, 2, 3], [1, 2, 3]), limits), /at least 2 intervals/);
  });
});
