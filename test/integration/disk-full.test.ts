import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { randomBlob, readName, TestBlob, writeName } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';
import { mountTmpfs, Tmpfs } from '../helpers/tmpfs';
import { operations, responseOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

const MiB = 1024 * 1024;

/** Fills the rest of a filesystem with one file, chunk by chunk until ENOSPC. */
async function fill(file: string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) await fh.write(chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await fh.close();
  }
}

const blobFiles = async (cas: string) =>
  (await Promise.all((await fsp.readdir(cas)).filter((d) => /^[0-9a-f]{2}$/.test(d)).map(async (d) => (await fsp.readdir(path.join(cas, d))).map((f) => `${d}/${f}`)))).flat();

describe('disk full', () => {
  let full: Tmpfs;
  let roomy: Tmpfs;
  let server: TestServer;
  before(async () => {
    full = await mountTmpfs(6 * MiB);
    roomy = await mountTmpfs(8 * MiB);
    server = await startTestServer({
      instances: () => ({
        // maxBytes far above the disk: the disk fills before the LRU would evict.
        full: { digestFunction: 'sha256', cas: { filesystem: { path: path.join(full.dir, 'cas'), maxBytes: 1e9 } }, ac: { filesystem: { path: path.join(full.dir, 'ac'), maxBytes: 1e9 } } },
        // maxBytes below the disk: the LRU evicts before the disk fills.
        lru: { digestFunction: 'sha256', cas: { filesystem: { path: path.join(roomy.dir, 'cas'), maxBytes: 4 * MiB } }, ac: { memory: { maxBytes: MiB } } },
      }),
    });
  });
  after(async () => {
    await server?.close();
    await full?.unmount();
    await roomy?.unmount();
  });

  const bs = () => server.clients.byteStream;
  const put = (b: TestBlob, instance: string) => bs().write([{ resourceName: writeName(b, instance), writeOffset: Long.fromNumber(0), data: b.data, finishWrite: true }]);
  const missing = async (blobs: TestBlob[], instance: string) => (await server.clients.cas.findMissingBlobs({ instanceName: instance, blobDigests: blobs.map((b) => b.digest) })).missingBlobDigests.length;

  it('answers RESOURCE_EXHAUSTED on a full CAS/AC disk, stores nothing partial, keeps serving reads, and recovers when space returns', async () => {
    const kept = [randomBlob(MiB), randomBlob(MiB), randomBlob(MiB)];
    for (const b of kept) await put(b, 'full');
    const action = randomBlob(64).digest;
    await server.clients.ac.updateActionResult({ instanceName: 'full', actionDigest: action, actionResult: { exitCode: 0, outputFiles: [{ path: 'o', digest: kept[0].digest }] } });
    const filler = path.join(full.dir, 'filler');
    await fill(filler);

    const big = randomBlob(MiB);
    await expectStatus(put(big, 'full'), Code.RESOURCE_EXHAUSTED, 'no space left on the CAS disk', 'nothing was stored');
    const small = [randomBlob(1000), randomBlob(20_000)];
    const batch = await server.clients.cas.batchUpdateBlobs({ instanceName: 'full', requests: small.map((b) => ({ digest: b.digest, data: b.data })) });
    assert.deepEqual(batch.responses.map((r) => r.status?.code), [Code.RESOURCE_EXHAUSTED, Code.RESOURCE_EXHAUSTED], JSON.stringify(batch.responses.map((r) => r.status?.message)));
    await expectStatus(
      server.clients.ac.updateActionResult({ instanceName: 'full', actionDigest: randomBlob(64).digest, actionResult: { exitCode: 1, stdoutDigest: kept[2].digest } }),
      Code.RESOURCE_EXHAUSTED,
      'no space left on the action cache disk',
    );

    // Nothing partial: no temp files, no file for a refused blob, and the refused blobs are missing.
    assert.deepEqual(await fsp.readdir(path.join(full.dir, 'cas', 'tmp')), []);
    assert.deepEqual(await fsp.readdir(path.join(full.dir, 'ac', 'tmp')), []);
    assert.deepEqual((await blobFiles(path.join(full.dir, 'cas'))).sort(), kept.map((b) => `${b.hash.slice(0, 2)}/${b.hash}-${b.size}`).sort());
    assert.equal(await missing([big, ...small], 'full'), 3);

    // Reads keep working on the full disk.
    assert.equal(await missing(kept, 'full'), 0);
    for (const b of kept) assert.ok((await bs().read(readName(b, 'full'))).equals(b.data));
    const read = await server.clients.cas.batchReadBlobs({ instanceName: 'full', digests: [kept[1].digest] });
    assert.ok(Buffer.from(read.responses[0].data ?? []).equals(kept[1].data));
    assert.equal((await server.clients.ac.getActionResult({ instanceName: 'full', actionDigest: action })).outputFiles[0].path, 'o');

    await fsp.unlink(filler);
    await put(big, 'full');
    assert.equal(await missing([big], 'full'), 0, 'uploads succeed again once there is space');
  });

  it('evicts least recently used blobs instead when maxBytes is below the disk size', async () => {
    const blobs = Array.from({ length: 12 }, () => randomBlob(MiB));
    for (const b of blobs) await put(b, 'lru'); // 12 MiB through an 8 MiB disk
    assert.equal(await missing(blobs.slice(-3), 'lru'), 0, 'the newest blobs are there');
    assert.ok((await missing(blobs.slice(0, 6), 'lru')) === 6, 'the oldest were evicted');
    assert.ok(roomy.free() >= 3 * MiB, `the disk never filled (${roomy.free()} bytes free)`);
  });
});

describe("a worker whose cache directory's disk fills up", () => {
  let disk: Tmpfs;
  let fixture: Awaited<ReturnType<typeof startExecutionFixture>>;
  before(async () => {
    disk = await mountTmpfs(3 * MiB);
    fixture = await startExecutionFixture();
  });
  after(async () => {
    await fixture?.close();
    await disk?.unmount();
  });

  it('fails the action with RESOURCE_EXHAUSTED naming the worker and its directory, and lives on to run the next one', async () => {
    const worker = fixture.startWorker(['--work-dir', path.join(disk.dir, 'work'), '--cache-dir', path.join(disk.dir, 'cache'), '--cache-max-bytes', '1gb']);
    await waitForWorkers(fixture, 1);
    const huge = randomBlob(3.5 * MiB); // more than the whole disk; fits one batch upload
    await fixture.upload(huge.data);
    const tooBig = await fixture.action({ args: ['/bin/sh', '-c', 'wc -c big'], inputRoot: { files: [{ name: 'big', digest: huge.digest }] } });
    const failed = responseOf((await operations(fixture.execute({ actionDigest: tooBig, skipCacheLookup: true }))).at(-1)!);
    assert.equal(failed.status?.code, Code.RESOURCE_EXHAUSTED, failed.status?.message ?? '');
    assert.match(failed.status?.message ?? '', /worker "test-\d+" ran out of disk space while fetching the input root \(work dir .*rustexec-tmpfs-/);

    assert.equal(worker.exitCode, null, 'the worker is still running');
    const small = randomBlob(1000);
    await fixture.upload(small.data);
    const fits = await fixture.action({ args: ['/bin/sh', '-c', 'wc -c < small'], inputRoot: { files: [{ name: 'small', digest: small.digest }] } });
    const ok = responseOf((await operations(fixture.execute({ actionDigest: fits, skipCacheLookup: true }))).at(-1)!);
    assert.equal(ok.status?.code ?? 0, 0, ok.status?.message ?? '');
    assert.equal(ok.result?.exitCode, 0);
    assert.deepEqual(await fsp.readdir(path.join(disk.dir, 'cache', 'tmp')), [], 'the failed download left no temp file');
  });
});
