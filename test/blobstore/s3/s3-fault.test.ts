import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { putBlob, readBlob } from '../../../src/blobstore/blob-io';
import { S3BlobStore } from '../../../src/blobstore/s3/s3-blob-store';
import { Code, StatusError } from '../../../src/grpc/status-error';
import { Blob, blob, tempDir } from '../blob-store-fixtures';
import { contentKeyOf, listCasObjects, S3rverFixture } from './s3rver-fixture';

const MiB = 1024 * 1024;

/** Uploads in 256 KiB chunks, yielding between them so other uploads (and the test) interleave; returns the failure. */
async function upload(store: S3BlobStore, b: Blob): Promise<unknown> {
  const w = await store.createWriter(b.digest);
  try {
    for (let off = 0; off < b.data.byteLength; off += 256 * 1024) {
      await w.write(b.data.subarray(off, off + 256 * 1024));
      await new Promise((r) => setImmediate(r));
    }
    await w.commit();
    return undefined;
  } catch (err) {
    await w.abort();
    return err;
  }
}

describe('S3BlobStore when S3 goes away', () => {
  let s3rver: S3rverFixture;
  let dir: string;
  let store: S3BlobStore;
  before(async () => {
    dir = await tempDir('s3rver-fault');
    s3rver = new S3rverFixture(dir);
    await s3rver.start();
    store = S3BlobStore.open(s3rver.location('fault/'), { partSize: 5 * MiB });
    await store.index.refresh();
  });
  after(async () => {
    store.close();
    await s3rver.kill();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('fails uploads in flight with UNAVAILABLE, resumes by itself once S3 is back, and never exposes a partial blob', async () => {
    const blobs = [...Array.from({ length: 4 }, () => blob(12 * MiB)), ...Array.from({ length: 8 }, (_, i) => blob(1000 + i))];
    const kill = (async () => {
      while (s3rver.requests.filter((r) => r.includes('partNumber=')).length < 2) await new Promise((r) => setTimeout(r, 1));
      await s3rver.kill();
    })();
    const results = await Promise.all(blobs.map((b) => upload(store, b)));
    await kill;
    const failures = results.filter((e) => e !== undefined);
    assert.ok(failures.length >= 4, `the large uploads cannot finish without S3 (${failures.length} failed)`);
    for (const err of failures) {
      assert.ok(err instanceof StatusError, String(err));
      assert.equal(err.code, Code.UNAVAILABLE, err.message);
      assert.match(err.message, /s3:\/\/test\/fault\/cas\//, 'names the object');
    }
    await assert.rejects(readBlob(store, blobs[0].digest), { code: Code.UNAVAILABLE });

    await s3rver.start(); // Same port and directory.
    for (const [i, b] of blobs.entries()) if (results[i] !== undefined) await putBlob(store, b.digest, b.data);
    for (const b of blobs) assert.deepEqual(await readBlob(store, b.digest), b.data);
    await store.index.refresh();
    assert.ok(store.index.isComplete);
    assert.deepEqual(await store.findMissing(blobs.map((b) => b.digest)), []);

    const s3 = s3rver.location('fault/');
    const names = await listCasObjects(s3);
    assert.equal(names.length, blobs.length);
    for (const name of names) assert.equal(await contentKeyOf(s3, name), name.slice('fault/cas/'.length), `${name} holds exactly its digest's bytes`);
  });

  it('reports UNAVAILABLE from FindMissingBlobs while the index is still incomplete and S3 is down', async () => {
    await s3rver.kill();
    const fresh = S3BlobStore.open(s3rver.location('fault/'));
    try {
      await fresh.index.refresh();
      assert.equal(fresh.index.isComplete, false);
      await assert.rejects(fresh.findMissing([blob('anything').digest]), { code: Code.UNAVAILABLE });
    } finally {
      await s3rver.start();
    }
    await fresh.index.refresh();
    assert.ok(fresh.index.isComplete, 'the next listing completes it');
    fresh.close();
  });
});
