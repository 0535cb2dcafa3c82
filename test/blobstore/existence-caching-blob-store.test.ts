import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putBlob } from '../../src/blobstore/blob-io';
import { ExistenceCachingBlobStore } from '../../src/blobstore/existence-caching/existence-caching-blob-store';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { Digest } from '../../src/digest/digest';
import { blob, CountingBlobStore, FakeClock } from './blob-store-fixtures';

describe('ExistenceCachingBlobStore', () => {
  const setup = () => {
    const clock = new FakeClock();
    const backend = new MemoryBlobStore(1 << 20);
    const inner = new CountingBlobStore(backend);
    const store = new ExistenceCachingBlobStore(inner, { maxEntries: 100, ttlMs: 10_000 }, () => clock.now());
    return { clock, backend, inner, store };
  };

  it('answers a repeated findMissing for present blobs without asking the inner store until the ttl expires', async () => {
    const { clock, backend, inner, store } = setup();
    const a = blob('a');
    const b = blob('b');
    await putBlob(backend, a.digest, a.data);
    await putBlob(backend, b.digest, b.data);

    assert.deepEqual(await store.findMissing([a.digest, b.digest]), []);
    assert.equal(inner.findMissingCalls, 1);
    clock.advance(9_999);
    assert.deepEqual(await store.findMissing([a.digest, b.digest]), []);
    assert.equal(inner.findMissingCalls, 1, 'answered from the cache');

    clock.advance(2);
    assert.deepEqual(await store.findMissing([a.digest, b.digest]), []);
    assert.equal(inner.findMissingCalls, 2, 'the ttl expired, so the inner store is asked (and refreshes the blobs)');
  });

  it('asks the inner store only about the digests it does not know to be present', async () => {
    const { backend, inner, store } = setup();
    const known = blob('known');
    const other = blob('other');
    await putBlob(backend, known.digest, known.data);
    await store.findMissing([known.digest]);
    inner.findMissingDigests = [];
    assert.deepEqual(await store.findMissing([known.digest, other.digest]), [other.digest]);
    assert.deepEqual(inner.findMissingDigests, [other.digest]);
  });

  it('never caches absence: a missing blob is looked up again and found once uploaded elsewhere', async () => {
    const { backend, inner, store } = setup();
    const x = blob('x');
    assert.deepEqual(await store.findMissing([x.digest]), [x.digest]);
    await putBlob(backend, x.digest, x.data);
    assert.deepEqual(await store.findMissing([x.digest]), []);
    assert.equal(inner.findMissingCalls, 2);
  });

  it('remembers a blob committed through it as present', async () => {
    const { inner, store } = setup();
    const x = blob('uploaded through the cache');
    await putBlob(store, x.digest, x.data);
    assert.deepEqual(await store.findMissing([x.digest]), []);
    assert.equal(inner.findMissingCalls, 0);
  });

  it('refuses a ttl of 0, which would read as "forever"', () => {
    assert.throws(() => new ExistenceCachingBlobStore(new MemoryBlobStore(10), { maxEntries: 1, ttlMs: 0 }), /at least 1 ms/);
  });

  it('drops expired entries once per ttl, so a store of ever new blobs does not fill the cache with stale ones', async () => {
    const { clock, backend, store } = setup();
    const blobs = Array.from({ length: 50 }, (_, i) => blob(`stale-${i}`));
    for (const b of blobs) await putBlob(backend, b.digest, b.data);
    await store.findMissing(blobs.map((b) => b.digest));
    assert.equal(store.size, 50);
    clock.advance(10_001);
    const fresh = blob('fresh');
    await putBlob(backend, fresh.digest, fresh.data);
    await store.findMissing([fresh.digest]);
    assert.equal(store.size, 1, 'only the entry added after the purge is left');
  });

  it('believes a hash present only at the size that was confirmed', async () => {
    const { backend, inner, store } = setup();
    const x = blob('sized');
    await putBlob(backend, x.digest, x.data);
    await store.findMissing([x.digest]);
    const otherSize = Digest.of(x.digest.hash, x.digest.size + 1, x.digest.fn);
    assert.deepEqual(await store.findMissing([x.digest, otherSize]), [otherSize]);
    assert.equal(inner.findMissingCalls, 2, 'the other size was asked about');
  });
});
