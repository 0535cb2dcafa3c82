import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../../src/blobstore/blob-store';
import { collect, putBlob, readBlob } from '../../../src/blobstore/blob-io';
import { FilesystemBlobStore } from '../../../src/blobstore/filesystem/filesystem-blob-store';
import { MemoryBlobStore } from '../../../src/blobstore/memory/memory-blob-store';
import { ReadCachingBlobStore } from '../../../src/blobstore/read-caching/read-caching-blob-store';
import { S3BlobStore } from '../../../src/blobstore/s3/s3-blob-store';
import { Code, StatusError } from '../../../src/grpc/status-error';
import { blob, tempDir } from '../blob-store-fixtures';
import { S3rverFixture } from './s3rver-fixture';

const MiB = 1024 * 1024;

/** A fast tier whose disk is full: every fill fails. */
class FullDiskStore extends MemoryBlobStore {
  override async createWriter(): Promise<never> {
    throw new StatusError(Code.RESOURCE_EXHAUSTED, 'disk full');
  }
}

describe('ReadCachingBlobStore over S3', () => {
  let s3rver: S3rverFixture;
  const dirs: string[] = [];
  const stores: S3BlobStore[] = [];
  let n = 0;
  const tiers = async (prefix: string, fast?: BlobStore) => {
    const slow = S3BlobStore.open(s3rver.location(prefix), { partSize: 5 * MiB });
    stores.push(slow);
    await slow.index.refresh();
    const root = await tempDir('read-cache-fast');
    dirs.push(root);
    const disk = fast ?? (await FilesystemBlobStore.open({ path: root, maxBytes: 100 * MiB }));
    return { slow, disk, root, store: new ReadCachingBlobStore(disk, slow) };
  };

  before(async () => {
    const dir = await tempDir('s3rver-rc');
    dirs.push(dir);
    s3rver = new S3rverFixture(dir);
    await s3rver.start();
  });
  after(async () => {
    for (const s of stores) s.close();
    await s3rver.kill();
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
  });

  it('acknowledges a write only once S3 has it, and keeps a copy on disk', async () => {
    const { store, disk, root } = await tiers(`rc${++n}/`);
    const b = blob(2 * MiB);
    await putBlob(store, b.digest, b.data);
    assert.deepEqual(await disk.findMissing([b.digest]), []);
    assert.deepEqual(await fsp.readFile(path.join(root, b.digest.hash.slice(0, 2), b.digest.key)), b.data);
    const { slow: other } = await tiers(`rc${n}/`);
    assert.deepEqual(await readBlob(other, b.digest), b.data, 'durable in S3');
  });

  it('streams a cold read from S3 while filling the disk tier, then serves the next read from disk without S3', async () => {
    const prefix = `rc${++n}/`;
    const { slow } = await tiers(prefix);
    const b = blob(12 * MiB);
    await putBlob(slow, b.digest, b.data);

    const { store, disk } = await tiers(prefix); // A frontend with an empty disk tier.
    s3rver.resetRequests();
    assert.deepEqual(await readBlob(store, b.digest), b.data);
    assert.equal(s3rver.requests.filter((r) => r.startsWith('GET')).length, 1, 'one GET for the cold read');
    assert.deepEqual(await disk.findMissing([b.digest]), [], 'filled while streaming');

    s3rver.resetRequests();
    assert.deepEqual(await readBlob(store, b.digest), b.data);
    assert.deepEqual(await readBlob(store, b.digest, 64 * MiB, { offset: 7, limit: 100 }), b.data.subarray(7, 107));
    assert.deepEqual(s3rver.requests, [], 'served from the fast tier');
  });

  it('after a restart with an empty fast tier serves everything from S3', async () => {
    const prefix = `rc${++n}/`;
    const first = await tiers(prefix);
    const blobs = [blob(10), blob(100_000), blob(6 * MiB)];
    for (const b of blobs) await putBlob(first.store, b.digest, b.data);

    const restarted = await tiers(prefix);
    assert.deepEqual(await restarted.store.findMissing(blobs.map((b) => b.digest)), []);
    s3rver.resetRequests();
    for (const b of blobs) assert.deepEqual(await readBlob(restarted.store, b.digest), b.data);
    assert.equal(s3rver.requests.length, blobs.length);
    assert.deepEqual(await restarted.disk.findMissing(blobs.map((b) => b.digest)), []);
  });

  it('serves a ranged cold read from S3 without filling a partial blob', async () => {
    const prefix = `rc${++n}/`;
    const { slow } = await tiers(prefix);
    const b = blob(300_000);
    await putBlob(slow, b.digest, b.data);
    const { store, disk } = await tiers(prefix);
    assert.deepEqual(await readBlob(store, b.digest, MiB, { offset: 1000, limit: 10 }), b.data.subarray(1000, 1010));
    assert.deepEqual(await disk.findMissing([b.digest]), [b.digest]);
  });

  it('still answers a read when filling the fast tier fails', async () => {
    const prefix = `rc${++n}/`;
    const { slow } = await tiers(prefix);
    const b = blob(100_000);
    await putBlob(slow, b.digest, b.data);
    const { store } = await tiers(prefix, new FullDiskStore(MiB));
    assert.deepEqual(await readBlob(store, b.digest), b.data);
    const c = blob(1000);
    await putBlob(store, c.digest, c.data);
    assert.deepEqual(await readBlob(slow, c.digest), c.data, 'writes reach S3 even when the fast tier refuses them');
  });

  it('abandons the fill when the reader goes away, leaving the disk tier without a partial blob', async () => {
    const prefix = `rc${++n}/`;
    const { slow } = await tiers(prefix);
    const b = blob(8 * MiB);
    await putBlob(slow, b.digest, b.data);
    const { store, disk, root } = await tiers(prefix);
    const stream = await store.get(b.digest);
    for await (const _ of stream) break; // Destroys the stream after the first chunk.
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await disk.findMissing([b.digest]), [b.digest]);
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), []);
    assert.deepEqual(await collect(await store.get(b.digest)), b.data, 'a later read fills it');
    assert.deepEqual(await disk.findMissing([b.digest]), []);
  });
});
