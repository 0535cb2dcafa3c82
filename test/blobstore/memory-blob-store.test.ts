import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putBlob, readBlob } from '../../src/blobstore/blob-io';
import { parseBlobStoreConfig } from '../../src/blobstore/configuration/blob-store-config';
import { newBlobStore } from '../../src/blobstore/configuration/new-blob-store';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { MEMORY_ENTRY_OVERHEAD } from '../../src/blobstore/memory/memory-entry';
import { Code } from '../../src/grpc/status-error';
import { silentLogger } from '../../src/logging/logger';
import { blob, EMPTY, evictionRecorder } from './blob-store-fixtures';

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
    const store = new MemoryBlobStore(3 * (100 + MEMORY_ENTRY_OVERHEAD));
    const [a, b, c, d] = [1, 2, 3, 4].map(() => blob(100));
    for (const x of [a, b, c]) await putBlob(store, x.digest, x.data);
    await store.findMissing([a.digest]); // a is now the most recently used
    await putBlob(store, d.digest, d.data);
    assert.deepEqual(await store.findMissing([a.digest, b.digest, c.digest, d.digest]), [b.digest]);
    await assert.rejects(store.createWriter(blob(3 * (100 + MEMORY_ENTRY_OVERHEAD)).digest), { code: Code.RESOURCE_EXHAUSTED });
  });

  it('holds at most maxEntries blobs, evicting the least recently used (told to onEvict); reads refresh recency', async () => {
    // Tiny blobs far below maxBytes: without a count bound each one adds its index entry and Buffer to the heap.
    const evicted: number[] = [];
    const store = new MemoryBlobStore(1 << 30, { maxEntries: 3, onEvict: (bytes) => evicted.push(bytes) });
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((n) => blob(n));
    for (const x of [a, b, c]) await putBlob(store, x.digest, x.data);
    assert.deepEqual(await readBlob(store, a.digest), a.data); // a is now the most recently used: b goes next
    await putBlob(store, d.digest, d.data);
    await (await store.get(c.digest)).toArray(); // c refreshed: a goes next
    await putBlob(store, e.digest, e.data);
    assert.deepEqual(evicted, [2, 1], 'b then a evicted, their sizes told');
    assert.deepEqual(await store.findMissing([a, b, c, d, e].map((x) => x.digest)), [a.digest, b.digest]);
    await assert.rejects(store.get(a.digest), { code: Code.NOT_FOUND });
    await assert.rejects(store.open(b.digest), { code: Code.NOT_FOUND });
    for (const x of [c, d, e]) assert.deepEqual(await readBlob(store, x.digest), x.data);
  });

  it('refuses a maxEntries below 1 or not a number, naming the option', () => {
    for (const bad of [0, -1, NaN]) {
      assert.throws(() => new MemoryBlobStore(1 << 20, { maxEntries: bad }), new RegExp(`memory CAS's maxEntries must be at least 1, got ${bad}`));
    }
  });

  it('counts a per-blob overhead against maxBytes, so tiny blobs cannot hold far more heap than maxBytes', async () => {
    // Without it, 10,000 bytes hold all 200 one-byte blobs below: ~50 KiB of index entries and Buffers.
    assert.ok(MEMORY_ENTRY_OVERHEAD >= 200, 'at least the heap an entry was measured to cost');
    const store = new MemoryBlobStore(10_000);
    const tiny = Array.from({ length: 200 }, (_, i) => blob(Buffer.from([i])));
    for (const x of tiny) await putBlob(store, x.digest, x.data);
    const held = tiny.length - (await store.findMissing(tiny.map((x) => x.digest))).length;
    assert.equal(held, Math.floor(10_000 / (1 + MEMORY_ENTRY_OVERHEAD)));
    // The largest blob that fits with its overhead is stored (not silently dropped), one byte more is refused.
    const largest = blob(10_000 - MEMORY_ENTRY_OVERHEAD);
    await putBlob(store, largest.digest, largest.data);
    assert.deepEqual(await readBlob(store, largest.digest), largest.data);
    await assert.rejects(store.createWriter(blob(10_001 - MEMORY_ENTRY_OVERHEAD).digest), { code: Code.RESOURCE_EXHAUSTED });
  });

  it('keeps a small blob in memory of its own, so a long-lived blob cannot pin a shared 8 KiB Buffer pool slab', async () => {
    const store = new MemoryBlobStore(1 << 20);
    const x = blob(100);
    await putBlob(store, x.digest, x.data);
    const [chunk] = (await (await store.get(x.digest)).toArray()) as Buffer[];
    assert.deepEqual(chunk, x.data);
    assert.equal(chunk.buffer.byteLength, 100, 'the stored bytes are the whole of their ArrayBuffer');
  });

  it('is built from config with maxEntries, its evictions counted as cas_memory', async () => {
    const { instrument, evictions } = evictionRecorder();
    const config = parseBlobStoreConfig({ memory: { maxBytes: '1MiB', maxEntries: 2 } }, 'cas', '/');
    assert.deepEqual(config, { memory: { maxBytes: 1 << 20, maxEntries: 2 } });
    const store = await newBlobStore(config, silentLogger(), {}, instrument);
    const [a, b, c] = [1, 2, 3].map((n) => blob(n * 10));
    for (const x of [a, b, c]) await putBlob(store, x.digest, x.data);
    assert.deepEqual(await store.findMissing([a.digest, b.digest, c.digest]), [a.digest]);
    assert.deepEqual(evictions, [['cas_memory', 10]]);
  });
});
