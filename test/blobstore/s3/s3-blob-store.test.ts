import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import { putBlob, readBlob } from '../../../src/blobstore/blob-io';
import { S3BlobStore } from '../../../src/blobstore/s3/s3-blob-store';
import { Digest } from '../../../src/digest/digest';
import { SHA256 } from '../../../src/digest/digest-function';
import { Code } from '../../../src/grpc/status-error';
import { blob, EMPTY, tempDir } from '../blob-store-fixtures';
import { BUCKET, contentKeyOf, listCasObjects, S3rverFixture } from './s3rver-fixture';

const MiB = 1024 * 1024;

describe('S3BlobStore', () => {
  let s3rver: S3rverFixture;
  let dir: string;
  let n = 0;
  /** Each test gets its own key prefix in the shared bucket, so listings start empty. */
  let prefix: string;
  const stores: S3BlobStore[] = [];
  const open = async (options: { partSize?: number } = {}) => {
    const store = S3BlobStore.open(s3rver.location(prefix), options);
    stores.push(store);
    await store.index.refresh();
    return store;
  };

  before(async () => {
    dir = await tempDir('s3rver');
    s3rver = new S3rverFixture(dir);
    await s3rver.start();
  });
  beforeEach(() => {
    prefix = `t${++n}/`;
  });
  after(async () => {
    for (const s of stores) s.close();
    await s3rver.kill();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('stores a committed blob at {prefix}cas/{hash}-{size} and serves whole and ranged reads', async () => {
    const store = await open();
    const b = blob(100_000);
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
    await putBlob(store, b.digest, b.data);
    assert.deepEqual(await listCasObjects(s3rver.location(prefix)), [`${prefix}cas/${b.digest.key}`]);
    assert.deepEqual(await store.findMissing([b.digest]), []);
    assert.deepEqual(await readBlob(store, b.digest), b.data);
    assert.deepEqual(await readBlob(store, b.digest, MiB, { offset: 1000, limit: 10 }), b.data.subarray(1000, 1010));
    assert.deepEqual(await readBlob(store, b.digest, MiB, { offset: 99_990 }), b.data.subarray(99_990));
    assert.deepEqual(await readBlob(store, b.digest, MiB, { offset: 100_000 }), Buffer.alloc(0));
    await assert.rejects(store.get(b.digest, { offset: 100_001 }), { code: Code.OUT_OF_RANGE });
  });

  it('answers NOT_FOUND for an absent blob and serves the empty blob without storing it', async () => {
    const store = await open();
    await assert.rejects(store.get(blob('never written').digest), { code: Code.NOT_FOUND });
    assert.deepEqual(await store.findMissing([EMPTY]), []);
    assert.deepEqual(await readBlob(store, EMPTY), Buffer.alloc(0));
  });

  it('streams a 20 MiB blob as a multipart upload with 5 MiB parts and reads it back intact', async () => {
    const store = await open({ partSize: 5 * MiB });
    const b = blob(20 * MiB + 123);
    s3rver.resetRequests();
    const w = await store.createWriter(b.digest);
    for (let off = 0; off < b.data.byteLength; off += 256 * 1024) await w.write(b.data.subarray(off, off + 256 * 1024));
    assert.deepEqual(await listCasObjects(s3rver.location(prefix)), [], 'nothing visible before commit');
    await w.commit();
    const parts = s3rver.requests.filter((r) => r.startsWith('PUT') && r.includes('partNumber='));
    assert.equal(parts.length, 5, `4 full parts and a short last one, got ${s3rver.requests.join('\n')}`);
    assert.deepEqual(await readBlob(store, b.digest), b.data);
    assert.deepEqual(await readBlob(store, b.digest, 64 * MiB, { offset: 5 * MiB - 10, limit: 20 }), b.data.subarray(5 * MiB - 10, 5 * MiB + 10));
  });

  for (const size of [1000, 12 * MiB]) {
    it(`rejects a ${size}-byte upload whose bytes hash differently with INVALID_ARGUMENT and leaves nothing under cas/`, async () => {
      const store = await open({ partSize: 5 * MiB });
      const real = blob(size);
      const forged = Buffer.from(real.data);
      forged[size - 1] ^= 0xff;
      const w = await store.createWriter(real.digest);
      await w.write(forged);
      await assert.rejects(w.commit(), { code: Code.INVALID_ARGUMENT });
      await w.abort();
      assert.deepEqual(await listCasObjects(s3rver.location(prefix)), []);
      assert.deepEqual(await store.findMissing([real.digest]), [real.digest]);
      await assert.rejects(store.get(real.digest), { code: Code.NOT_FOUND });
    });
  }

  it('refuses bytes beyond the digest size and a short upload, and an aborted writer leaves nothing', async () => {
    const store = await open();
    const b = blob('twelve bytes');
    const w = await store.createWriter(b.digest);
    await assert.rejects(w.write(Buffer.concat([b.data, Buffer.from('!')])), { code: Code.INVALID_ARGUMENT });
    await w.write(b.data.subarray(0, 5));
    await assert.rejects(w.commit(), { code: Code.INVALID_ARGUMENT });
    const w2 = await store.createWriter(b.digest);
    await w2.write(b.data);
    await w2.abort();
    await assert.rejects(w2.commit(), { code: Code.FAILED_PRECONDITION });
    assert.deepEqual(await listCasObjects(s3rver.location(prefix)), []);
  });

  it('answers FindMissingBlobs for 10k digests from its index without a single request to S3', async () => {
    const store = await open();
    const present = Array.from({ length: 20 }, (_, i) => blob(`present ${i}`));
    for (const b of present) await putBlob(store, b.digest, b.data);
    const absent = Array.from({ length: 10_000 - present.length }, (_, i) => Digest.of(SHA256.hashHex(Buffer.from(`absent ${i}`)), i + 1, SHA256));
    s3rver.resetRequests();
    const missing = await store.findMissing([...present.map((b) => b.digest), ...absent]);
    assert.equal(missing.length, absent.length);
    assert.deepEqual(missing.slice(0, 3), absent.slice(0, 3));
    assert.deepEqual(s3rver.requests, []);
  });

  it('rebuilds the index at start-up with one listing request per 1000 objects, and confirms with HEADs only until then', async () => {
    const writer = await open();
    const blobs = Array.from({ length: 1500 }, (_, i) => blob(`object ${i}`));
    for (let i = 0; i < blobs.length; i += 50) await Promise.all(blobs.slice(i, i + 50).map((b) => putBlob(writer, b.digest, b.data)));
    const unknown = blob('not stored').digest;

    const fresh = S3BlobStore.open(s3rver.location(prefix)); // Listing in flight or not yet started: incomplete.
    stores.push(fresh);
    s3rver.resetRequests();
    if (!fresh.index.isComplete) {
      assert.deepEqual(await fresh.findMissing([blobs[0].digest, unknown]), [unknown]);
      assert.ok(s3rver.requests.some((r) => r.startsWith('HEAD')), 'the incomplete index confirms with HEAD');
    }
    await fresh.index.refresh();
    assert.ok(fresh.index.isComplete);
    assert.equal(fresh.index.size, 1500);
    s3rver.resetRequests();
    await fresh.index.refresh();
    assert.equal(s3rver.requests.filter((r) => r.startsWith('GET /test?')).length, 2, s3rver.requests.join('\n'));
    assert.equal(s3rver.requests.length, 2);
    s3rver.resetRequests();
    assert.deepEqual(await fresh.findMissing([...blobs.map((b) => b.digest), unknown]), [unknown]);
    assert.deepEqual(s3rver.requests, []);
  });

  it("sees another frontend's write at the next listing or at once when a client reads it", async () => {
    const a = await open();
    const b = await open();
    const x = blob('written through a');
    const y = blob('also written through a');
    await putBlob(a, x.digest, x.data);
    await putBlob(a, y.digest, y.data);
    assert.deepEqual(await b.findMissing([x.digest, y.digest]), [x.digest, y.digest], 'b has not listed since');
    assert.deepEqual(await readBlob(b, x.digest), x.data);
    assert.deepEqual(await b.findMissing([x.digest, y.digest]), [y.digest], 'a read teaches the index');
    await b.index.refresh();
    assert.deepEqual(await b.findMissing([x.digest, y.digest]), []);
  });

  it('forgets a blob deleted out-of-band when a read finds it gone (NOT_FOUND), or at the next listing', async () => {
    const store = await open();
    const x = blob('deleted by a lifecycle rule');
    const y = blob('deleted too');
    await putBlob(store, x.digest, x.data);
    await putBlob(store, y.digest, y.data);
    const s3 = s3rver.location(prefix);
    await s3.client.removeObject(BUCKET, `${prefix}cas/${x.digest.key}`);
    await s3.client.removeObject(BUCKET, `${prefix}cas/${y.digest.key}`);
    assert.deepEqual(await store.findMissing([x.digest]), [], 'still believed present');
    await assert.rejects(store.get(x.digest), { code: Code.NOT_FOUND });
    assert.deepEqual(await store.findMissing([x.digest]), [x.digest]);
    await store.index.refresh();
    assert.deepEqual(await store.findMissing([y.digest]), [y.digest]);
  });

  it('keeps a write committed while a listing runs', async () => {
    const store = await open();
    const x = blob('committed mid-listing');
    const refreshing = store.index.refresh();
    await putBlob(store, x.digest, x.data);
    await refreshing;
    assert.deepEqual(await store.findMissing([x.digest]), []);
    assert.equal(await contentKeyOf(s3rver.location(prefix), `${prefix}cas/${x.digest.key}`), x.digest.key);
  });
});
