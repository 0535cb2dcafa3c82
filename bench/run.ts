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

/** `npm run bench`: every benchmark in one run on this machine, so ratios compare like with like. */
async function main(): Promise<void> {
  console.log(`node ${process.version}, ${require('node:os').cpus().length} cores`);
  await codecBench();
  await criticalPathBench();
  await schedulerScaleBench();
  await cacheBench();
  await metricsBench();
  await digestFunctionsBench();
  await zstdBench();
  await s3Bench();
  await rustBench();
  await fusionBench();
  await dashboardBench();
  await cargoBench();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
