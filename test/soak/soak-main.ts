import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { soak } from './soak';

/** `npm run soak`: SOAK_MINUTES (default 30) of 32 clients; prints one line per minute and exits non-zero on errors. */
async function main(): Promise<void> {
  const minutes = Number(process.env.SOAK_MINUTES ?? 30);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-soak-'));
  try {
    const r = await soak({ durationMs: minutes * 60_000, clients: 32, dataDir: path.join(dir, 'data') });
    console.log('minute | calls | errors | p99 ms | server RSS MiB | JS heap MiB (lowest–highest sample)');
    for (const m of r.minutes) console.log(`${m.minute} | ${m.calls} | ${m.errors} | ${m.p99Ms} | ${m.rssMiB} | ${m.heapMinMiB}–${m.heapMaxMiB}`);
    const floors = r.minutes.slice(1).map((m) => m.heapMinMiB);
    const half = Math.floor(floors.length / 2);
    if (half > 0) console.log(`JS heap after warm-up, lowest sample: ${Math.min(...floors.slice(0, half))} MiB in the earlier half, ${Math.min(...floors.slice(half))} MiB in the later half`);
    console.log(`total ${r.calls} calls, ${r.errors.length ? `errors: ${r.errors.join('; ')}` : '0 errors'}`);
    process.exitCode = r.errors.length ? 1 : 0;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

void main();
