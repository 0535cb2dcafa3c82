import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InstanceConfig } from '../../src/config/server-config';
import { BUCKET, S3rverFixture } from '../blobstore/s3/s3rver-fixture';
import { startTestServer, TestServer } from '../helpers/test-server';
import { digestOf, ExecutionFixture, operations, responseOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

const sh = (script: string) => ['/bin/sh', '-c', script];
const PREFIX = 'two/';

/**
 * #12: the Helm chart's topology in one process tree. Frontend A carries the scheduler (its CAS confirms index misses
 * with HEAD, as the chart configures it); frontend B is a plain frontend whose bucket index is complete but never
 * refreshes during the test (listRefresh 1 h), so it cannot know what A uploaded; the worker reads the CAS through B, as
 * the chart's workers read through the frontend Service. Without the worker confirming B's "missing" answers, every
 * action whose inputs went through A failed with "input blob(s) missing from the CAS".
 */
describe('two frontends over one S3 bucket: a worker reading through the other frontend', () => {
  let dir: string;
  let s3: S3rverFixture;
  let b: TestServer;
  let c: TestServer;
  let f: ExecutionFixture;

  const s3Conn = () => ({ endpoint: s3.endpoint, bucket: BUCKET, prefix: PREFIX, accessKey: 'S3RVER', secretKey: 'S3RVER', requestTimeoutMs: 5000 });
  const instance = (data: string, confirmMissing: boolean): InstanceConfig => ({
    digestFunction: 'sha256',
    cas: {
      existenceCaching: {
        backend: { readCaching: { fast: { filesystem: { path: path.join(data, 'cas'), maxBytes: 1e9 } }, slow: { s3: { ...s3Conn(), listRefreshMs: 3_600_000, partSize: 5 * 1024 * 1024, confirmMissing } } } },
        maxEntries: 10_000,
        ttlMs: 60_000,
      },
    },
    ac: { s3: s3Conn() },
  });

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-two-frontends-'));
    s3 = new S3rverFixture(path.join(dir, 's3'));
    await s3.start();
    b = await startTestServer({ instances: (data) => ({ '': instance(data, false) }) });
    c = await startTestServer({ instances: (data) => ({ '': instance(data, false) }) });
    // Deterministic: wait until the first listings of B and C are complete. From then on they answer FindMissing from
    // their index alone, without a HEAD to S3 (an incomplete index would HEAD, find the uploads and hide the bug).
    const probe = digestOf(`never stored ${process.pid}`);
    for (const x of [b, c]) {
      for (const until = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 50))) {
        s3.resetRequests();
        const res = await x.clients.cas.findMissingBlobs({ blobDigests: [probe] });
        assert.equal(res.missingBlobDigests.length, 1);
        if (!s3.requests.some((r) => r.startsWith('HEAD '))) break;
        if (Date.now() > until) throw new Error('a frontend never completed its first bucket listing');
      }
    }
    f = await startExecutionFixture({}, undefined, (c) => (c.instances = { '': instance(path.join(dir, 'a'), true) }));
    f.startWorker(['--cas', b.address]);
    await waitForWorkers(f, 1);
  });
  after(async () => {
    await f?.close();
    await b?.close();
    await c?.close();
    await s3?.kill();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('runs an action whose inputs were uploaded through the other frontend', async () => {
    const input = `uploaded through frontend A ${Date.now()}\n`;
    const [inputDigest] = await f.upload(input);
    // B's index does not know the input: this is the answer the worker gets first.
    const seenByB = await b.clients.cas.findMissingBlobs({ blobDigests: [inputDigest] });
    assert.equal(seenByB.missingBlobDigests.length, 1, "precondition: frontend B's index does not know A's upload");
    const action = await f.action({ args: sh('cat in.txt in.txt > out.txt'), inputRoot: { files: [{ name: 'in.txt', digest: inputDigest }] }, outputPaths: ['out.txt'] });
    const res = responseOf((await operations(f.execute({ actionDigest: action }))).at(-1)!);
    assert.equal(res.status?.code ?? 0, 0, `action status: ${res.status?.message}`);
    assert.equal(res.result?.exitCode, 0);
    assert.deepEqual(res.result!.outputFiles![0].digest, digestOf(input + input));
    // The worker's confirming read taught B's index the blob.
    assert.equal((await b.clients.cas.findMissingBlobs({ blobDigests: [inputDigest] })).missingBlobDigests.length, 0);

    // The next build asks frontend C, whose index knows neither the outputs (the worker wrote them through B) nor
    // stdout/stderr: its completeness check must not turn the complete entry into a miss (a re-execution).
    const out = res.result!.outputFiles![0].digest!;
    assert.equal((await c.clients.cas.findMissingBlobs({ blobDigests: [out] })).missingBlobDigests.length, 1, "precondition: C's index does not know the output");
    const cached = await c.clients.ac.getActionResult({ actionDigest: action });
    assert.deepEqual(cached.outputFiles[0].digest, out);
  });

  it('still fails an action with FAILED_PRECONDITION naming a blob that is really gone', async () => {
    const [inputDigest] = await f.upload(`deleted behind everyone's back ${Date.now()}\n`);
    const action = await f.action({ args: sh('cat gone.txt'), inputRoot: { files: [{ name: 'gone.txt', digest: inputDigest }] }, doNotCache: true });
    // A's index still lists it, so the scheduler's check passes; B's index never knew it, and a read finds nothing.
    const loc = s3.location(PREFIX);
    await loc.client.removeObject(BUCKET, `${PREFIX}cas/${inputDigest.hash}-${inputDigest.sizeBytes}`);
    const res = responseOf((await operations(f.execute({ actionDigest: action }))).at(-1)!);
    assert.equal(res.status?.code, 9, `status: ${res.status?.message}`);
    assert.match(res.status?.message ?? '', /missing/);
  });
});
