import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { soak, STEADY_STATE } from './soak';
import { flatness } from './soak-verdict';

/**
 * `npm run soak`: SOAK_MINUTES (default 30) of 32 clients against a steady-state cache; prints one line per minute and
 * a verdict, and exits non-zero on any error or if memory was not flat after SOAK_WARMUP_MINUTES (default 5).
 */
async function main(): Promise<void> {
  const minutes = Number(process.env.SOAK_MINUTES ?? 30);
  const warmup = Number(process.env.SOAK_WARMUP_MINUTES ?? 5);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-soak-'));
  try {
    const w = STEADY_STATE;
    console.log(
      `workload: 32 clients, ${w.poolPerClient} pooled blobs + AC keys each, ${w.newShare * 100} % new ones; CAS maxBytes ${w.casMaxBytes / 1024 / 1024} MiB, AC maxEntries ${w.acMaxEntries}, existence ttl ${w.existenceTtl}`,
    );
    const r = await soak({ durationMs: minutes * 60_000, clients: 32, dataDir: path.join(dir, 'data'), workload: w });
    console.log('minute | calls | errors | p99 ms | server RSS MiB | live heap MiB (lowest after a full GC; full GCs) | JS heap MiB (lowest–highest /metrics sample) | evictions so far (CAS, AC)');
    for (const m of r.minutes) console.log(`${m.minute} | ${m.calls} | ${m.errors} | ${m.p99Ms} | ${m.rssMiB} | ${m.liveMiB} (${m.majorGcs}) | ${m.heapMinMiB}–${m.heapMaxMiB} | ${m.casEvictions}, ${m.acEvictions}`);
    console.log(`total ${r.calls} calls, ${r.errors.length ? `errors: ${r.errors.join('; ')}` : '0 errors'}`);
    const f = flatness(r.minutes, { warmup, heapMargin: 1.1, rssMargin: 1.1 });
    const ok = f.ok && r.errors.length === 0;
    console.log(`verdict: ${ok ? 'PASS' : 'FAIL'} (${r.errors.length} errors; ${f.verdict})`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

void main();
