import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { dispatchLatencies, JobTimings, jobTimings, percentile } from '../../src/dtlto/job-timings';
import { encode, re } from '../../src/proto';
import { ExecutionFixture, operations, responseOf, startExecutionFixture, stageOf, waitForWorkers } from '../integration/execution-fixture';

function invocation(id: string): Metadata {
  const md = new Metadata();
  md.set('build.bazel.remote.execution.v2.requestmetadata-bin', encode(re.RequestMetadata, re.RequestMetadata.create({ toolInvocationId: id, toolDetails: { toolName: 'test' } })));
  return md;
}

/**
 * What a DTLTO link does to the scheduler: hundreds of short jobs at once from one invocation. Checked through the
 * public Execute API only (it must hold for any scheduler implementation).
 */
describe('a burst of short backend jobs from one link', () => {
  const BURST = 200;
  const WORKERS = 2;
  let f: ExecutionFixture;
  let burst: JobTimings[];
  let other: JobTimings;

  before(async () => {
    f = await startExecutionFixture();
    for (let i = 0; i < WORKERS; i++) f.startWorker();
    await waitForWorkers(f, WORKERS);
    const job = (i: number) => f.action({ args: ['/bin/sh', '-c', 'sleep 0.01'], doNotCache: true, salt: `burst-${i}` });
    const digests = await Promise.all([...Array(BURST).keys()].map(job));
    const link = invocation('link-A');
    const streams = digests.map((d) => operations(f.execute({ actionDigest: d }, link)));
    // Another build sends one action while the burst is queued: once the first burst job runs, the rest wait.
    const first = f.execute({ actionDigest: digests[0] }, link);
    for await (const op of first) if (stageOf(op) === 'EXECUTING' || op.done) break;
    first.cancel();
    const otherDigest = await f.action({ args: ['/bin/sh', '-c', 'sleep 0.01'], doNotCache: true, salt: 'other-build' });
    const otherOps = await operations(f.execute({ actionDigest: otherDigest }, invocation('build-B')));
    const results = (await Promise.all(streams)).map((ops) => responseOf(ops.at(-1)!));
    for (const r of results) assert.equal(r.result?.exitCode, 0, r.status?.message ?? undefined);
    burst = results.map((r) => jobTimings(r.result?.executionMetadata)!);
    other = jobTimings(responseOf(otherOps.at(-1)!).result?.executionMetadata)!;
  });
  after(() => f.close());

  it('does not starve another build: its action takes the next free slot', () => {
    const overtaking = burst.filter((j) => j.workerStart > other.queued && j.workerStart < other.workerStart);
    const stillQueued = burst.filter((j) => j.workerStart > other.workerStart);
    assert.ok(stillQueued.length > BURST / 2, `the other build was sent while most of the burst was queued (${stillQueued.length} started after it)`);
    assert.ok(overtaking.length <= WORKERS, `${overtaking.length} burst jobs started between the other build's action being queued and starting`);
  });

  it('starts each job within milliseconds of a slot freeing up', () => {
    const latencies = dispatchLatencies(burst);
    const p50 = percentile(latencies, 50);
    // Generous for a contended 2-core machine; the bench reports the real number (goal: 5 ms).
    assert.ok(p50 < 50, `p50 dispatch latency ${p50.toFixed(1)} ms`);
    console.log(`burst of ${BURST}: dispatch latency p50 ${p50.toFixed(2)} ms, p90 ${percentile(latencies, 90).toFixed(2)} ms`);
  });
});
