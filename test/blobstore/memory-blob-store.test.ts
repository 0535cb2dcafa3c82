import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putBlob, readBlob } from '../../src/blobstore/blob-io';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { Code } from '../../src/grpc/status-error';
import { blob, EMPTY } from './blob-store-fixtures';

describe('MemoryBlobStore', () => {
  it('makes a blob visible only after commit and serves it whole or by range', async () => {
    const store = new MemoryBlobStore(1 << 20);
    const b = blob('in memory');
    const w = await store.createWriter(b.digest);
    await w.write(b.data);
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
    await w.commit();
    assert.deepEqual(await store.findMissing([b.digest]), []);
    assert.deepEqual(await readBlob(store, b.digest), b.data);
    assert.deepEqual(await readBlob(store, b.digest, undefined, { offset: 3, limit: 3 }), Buffer.from('mem'));
    await assert.rejects(store.get(b.digest, { offset: b.data.byteLength + 1 }), { code: Code.OUT_OF_RANGE });
  });

  it('throws NOT_FOUND for an absent blob and always has the empty blob', async () => {
    const store = new MemoryBlobStore(1000);
    await assert.rejects(store.get(blob('absent').digest), { code: Code.NOT_FOUND });
    assert.deepEqual(await store.findMissing([EMPTY]), []);
    assert.equal((await readBlob(store, EMPTY)).byteLength, 0);
  });

  it('refuses bytes beyond the digest size as they arrive, so a lying client cannot fill memory', async () => {
    const store = new MemoryBlobStore(1 << 20);
    const b = blob(10);
    const w = await store.createWriter(b.digest);
    await assert.rejects(w.write(Buffer.alloc(11)), { code: Code.INVALID_ARGUMENT });
    assert.equal(w.committedSize, 0);
  });

  it('rejects a short upload at commit with INVALID_ARGUMENT', async () => {
    const store = new MemoryBlobStore(1 << 20);
    const b = blob(10);
    const w = await store.createWriter(b.digest);
    await w.write(b.data.subarray(0, 5));
    await assert.rejects(w.commit(), { code: Code.INVALID_ARGUMENT });
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
  });

  it('stores nothing when an aborted upload is committed afterwards', async () => {
    const store = new MemoryBlobStore(1 << 20);
    const b = blob(10);
    const w = await store.createWriter(b.digest);
    await w.write(b.data);
    await w.abort();
    await assert.rejects(w.commit(), { code: Code.FAILED_PRECONDITION });
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
  });

  it('evicts least recently used blobs beyond maxBytes and refuses a blob larger than the store', async () => {
    const store = new MemoryBlobStore(300);
    const [a, b, c, d] = [1, 2, 3, 4].map(() => blob(100));
    for (const x of [a, b, c]) await putBlob(store, x.digest, x.data);
    await store.findMissing([a.digest]); // a is now the most recently used
    await putBlob(store, d.digest, d.data);
    assert.deepEqual(await store.findMissing([a.digest, b.digest, c.digest, d.digest]), [b.digest]);
    await assert.rejects(store.createWriter(blob(301).digest), { code: Code.RESOURCE_EXHAUSTED });
  });
});
