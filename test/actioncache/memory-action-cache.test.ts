import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryActionCache } from '../../src/actioncache/memory-action-cache';
import { parseActionCacheConfig } from '../../src/blobstore/configuration/blob-store-config';
import { newActionCache } from '../../src/blobstore/configuration/new-blob-store';
import { MEMORY_ENTRY_OVERHEAD } from '../../src/blobstore/memory/memory-entry';
import { encode, re } from '../../src/proto';
import { blob, evictionRecorder } from '../blobstore/blob-store-fixtures';

const result = (exitCode: number) => re.ActionResult.create({ exitCode });
const action = (i: number) => blob(`memory action ${i}`).digest;

describe('MemoryActionCache', () => {
  it('returns the stored result, a copy callers cannot change the cache through', async () => {
    const ac = new MemoryActionCache(1 << 20);
    assert.equal(await ac.get(action(0)), undefined);
    await ac.put(action(0), result(7));
    const got = await ac.get(action(0));
    assert.equal(got?.exitCode, 7);
    got!.exitCode = 9;
    assert.equal((await ac.get(action(0)))?.exitCode, 7);
  });

  it('holds at most maxEntries results, evicting the least recently used (told to onEvict); a hit refreshes recency', async () => {
    // ~10-byte results far below maxBytes: without a count bound each one adds its index entry and Buffer to the heap.
    const evicted: number[] = [];
    const ac = new MemoryActionCache(1 << 30, { maxEntries: 3, onEvict: (bytes) => evicted.push(bytes) });
    for (const i of [0, 1, 2]) await ac.put(action(i), result(i + 1));
    assert.equal((await ac.get(action(0)))?.exitCode, 1); // 0 is now the most recently used: 1 goes next
    await ac.put(action(3), result(4));
    assert.equal((await ac.get(action(2)))?.exitCode, 3); // 2 refreshed: 0 goes next
    await ac.put(action(4), result(5));
    const size = encode(re.ActionResult, result(1)).byteLength;
    assert.deepEqual(evicted, [size, size], 'two entries evicted, their sizes told');
    assert.equal(await ac.get(action(1)), undefined);
    assert.equal(await ac.get(action(0)), undefined);
    for (const i of [2, 3, 4]) assert.equal((await ac.get(action(i)))?.exitCode, i + 1, `action ${i} stays`);
  });

  it('refuses a maxEntries below 1 or not a number, naming the option', () => {
    for (const bad of [0, -1, NaN]) {
      assert.throws(() => new MemoryActionCache(1 << 20, { maxEntries: bad }), new RegExp(`memory action cache's maxEntries must be at least 1, got ${bad}`));
    }
  });

  it('counts a per-entry overhead against maxBytes, so small results cannot hold far more heap than maxBytes', async () => {
    const ac = new MemoryActionCache(10_000);
    const size = encode(re.ActionResult, result(1)).byteLength;
    for (let i = 0; i < 200; i++) await ac.put(action(i), result(1));
    let held = 0;
    for (let i = 0; i < 200; i++) if (await ac.get(action(i))) held++;
    assert.equal(held, Math.floor(10_000 / (size + MEMORY_ENTRY_OVERHEAD)));
  });

  it('is built from config with maxEntries, its evictions counted as action_cache', async () => {
    const { instrument, evictions } = evictionRecorder();
    const config = parseActionCacheConfig({ memory: { maxEntries: 2 } }, 'ac', '/');
    assert.deepEqual(config, { memory: { maxBytes: 256 * 1024 * 1024, maxEntries: 2 } });
    const ac = await newActionCache(config, {}, instrument);
    for (const i of [0, 1, 2]) await ac.put(action(i), result(1));
    assert.equal(await ac.get(action(0)), undefined);
    assert.equal((await ac.get(action(2)))?.exitCode, 1);
    assert.deepEqual(evictions, [['action_cache', encode(re.ActionResult, result(1)).byteLength]]);
  });
});
