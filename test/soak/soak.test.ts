import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { soak } from './soak';
import { flatness } from './soak-verdict';

/**
 * The CI-sized soak: 2 minutes of 32 clients against the same steady-state cache as `npm run soak` (pooled keys, 10 %
 * new ones, a 24 MiB CAS and a 2048-entry AC that evict), sampled every 20 s.
 */
describe('soak (2 minutes, 32 concurrent clients, steady-state cache)', () => {
  it('records no errors, a flat server RSS and JS heap after warm-up and a p99 per interval', async (t) => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-soak-'));
    try {
      const r = await soak({ durationMs: Number(process.env.SOAK_MS ?? 120_000), clients: 32, dataDir: path.join(dir, 'data'), minuteMs: 20_000 });
      for (const m of r.minutes) t.diagnostic(`interval ${m.minute}: ${m.calls} calls, ${m.errors} errors, p99 ${m.p99Ms} ms, server RSS ${m.rssMiB} MiB, live heap ${m.liveMiB} MiB (${m.majorGcs} full GCs), JS heap ${m.heapMinMiB}–${m.heapMaxMiB} MiB, evictions so far CAS ${m.casEvictions} AC ${m.acEvictions}`);
      assert.deepEqual(r.errors, [], 'no call failed');
      assert.ok(r.calls > 1000, `enough traffic (${r.calls} calls)`);
      const last = r.minutes[r.minutes.length - 1];
      assert.ok(last.casEvictions > 0 && last.acEvictions > 0, `the CAS and the AC were full and evicting (steady state): ${last.casEvictions}, ${last.acEvictions} evictions`);
      const samples = r.minutes.map((m) => m.heapMinMiB);
      assert.ok(samples.every((f) => f > 0), `the heap was sampled in every interval: ${samples.join(', ')}`);
      // The first 40 s start connections, the worker and JIT, and fill the small CAS; after that the stored data is
      // bounded, so memory that keeps rising is a leak. Medians of the earlier and later 2 intervals; looser margins
      // than the 30-minute run (×1.1) because 20 s intervals on a loaded CI machine are noisier.
      const f = flatness(r.minutes, { warmup: 2, heapMargin: 1.25, rssMargin: 1.25 });
      t.diagnostic(f.verdict);
      assert.ok(f.ok, f.verdict);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
