import { cacheBench } from './cache.bench';
import { metricsBench } from './metrics.bench';
import { cargoBench } from './cargo.bench';
import { fusionBench } from './fusion.bench';
import { rustBench } from './rust.bench';
import { s3Bench } from './s3.bench';
import { codecBench } from './codec.bench';
import { criticalPathBench } from './critical-path.bench';
import { dashboardBench } from './dashboard.bench';
import { schedulerScaleBench } from './scheduler-scale';
import { digestFunctionsBench } from './digest-functions.bench';
import { zstdBench } from './zstd.bench';
import { dtltoBench } from './dtlto.bench';

/** In run order; BLAKE3 and zstd run short here (their files run the long versions alone). */
const BENCHES: [string, () => Promise<unknown>][] = [
  ['codec', codecBench],
  ['critical-path', criticalPathBench],
  ['scheduler-scale', schedulerScaleBench],
  ['cache', cacheBench],
  ['metrics', metricsBench],
  ['digest-functions', () => digestFunctionsBench({ short: true })],
  ['zstd', () => zstdBench({ short: true })],
  ['s3', s3Bench],
  ['rust', rustBench],
  ['fusion', fusionBench],
  ['dashboard', dashboardBench],
  ['cargo', cargoBench],
  ['dtlto', dtltoBench],
];

/**
 * `npm run bench`: every benchmark in one run on this machine, so ratios compare like with like.
 * `npm run bench -- zstd digest-functions`: only those (names as in BENCHES).
 */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !BENCHES.some(([name]) => name === n));
  if (unknown.length) throw new Error(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map(([n]) => n).join(', ')}`);
  console.log(`node ${process.version}, ${require('node:os').cpus().length} cores, load average ${require('node:os').loadavg().map((l: number) => l.toFixed(1)).join(' ')}`);
  for (const [name, bench] of BENCHES) {
    if (only.length > 0 && !only.includes(name)) continue;
    const started = Date.now();
    await bench();
    console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
