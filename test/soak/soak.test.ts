import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { soak, STEADY_STATE } from './soak';
import { flatness } from './soak-verdict';

/**
 * The CI-sized soak: 2 minutes of 32 clients against the steady-state cache of `npm run soak` (pooled keys, 10 % new
 * ones), sampled every 20 s. Its CAS (16 MiB) and AC (1024 entries) are smaller, so they fill within ~30,000 calls
 * and leave several intervals of eviction even on a loaded machine (one CI run made 86,000 calls in 2 minutes); each
 * client checks its last 20 blobs rather than 50, so its new ones are still well inside the smaller CAS's horizon
 * (about 8 MiB of new blobs, ~160 rounds per client, against 50: one run had 2 errors of unknown kind).
 */
describe('soak (2 minutes, 32 concurrent clients, steady-state cache)', () => {
  it('records no errors, a flat server RSS and JS heap after warm-up and a p99 per interval', async (t) => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-soak-'));
    try {
      const r = await soak({ durationMs: Number(process.env.SOAK_MS ?? 120_000), clients: 32, dataDir: path.join(dir, 'data'), minuteMs: 20_000, workload: { ...STEADY_STATE, casMaxBytes: 16 * 1024 * 1024, acMaxEntries: 1024, recentBlobs: 20 } });
      for (const m of r.minutes) t.diagnostic(`interval ${m.minute}: ${m.calls} calls, ${m.errors} errors, p99 ${m.p99Ms} ms, server RSS ${m.rssMiB} MiB, live heap ${m.liveMiB} MiB (${m.majorGcs} full GCs), JS heap ${m.heapMinMiB}–${m.heapMaxMiB} MiB, evictions so far CAS ${m.casEvictions} AC ${m.acEvictions}`);
      if (r.errors.length) t.diagnostic(`errors: ${r.errors.join('; ')}`);
      assert.deepEqual(r.errors, [], 'no call failed');
      assert.ok(r.calls > 1000, `enough traffic (${r.calls} calls)`);
      const last = r.minutes[r.minutes.length - 1];
      assert.ok(last.casEvictions > 0 && last.acEvictions > 0, `the CAS and the AC were full and evicting (steady state): ${last.casEvictions}, ${last.acEvictions} evictions`);
      const samples = r.minutes.map((m) => m.heapMinMiB);
      assert.ok(samples.every((f) => f > 0), `the heap was sampled in every interval: ${samples.join(', ')}`);
      // Warm-up: connections, the worker and JIT start, and the CAS and AC fill. Once both have evicted (and at least
      // 40 s in), the stored data is bounded, so memory that keeps rising is a leak. Looser margins than the 30-minute
      // run (×1.1): halves of 1–2 intervals of 20 s on a loaded CI machine are noisier.
      const filled = r.minutes.findIndex((m) => m.casEvictions > 0 && m.acEvictions > 0) + 1;
      const f = flatness(r.minutes, { warmup: Math.max(2, filled), heapMargin: 1.25, rssMargin: 1.25 });
      t.diagnostic(f.verdict);
      assert.ok(f.ok, f.verdict);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
