import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { FileActionCache } from '../../src/actioncache/file-action-cache';
import { re } from '../../src/proto';
import { blob, tempDir } from '../blobstore/blob-store-fixtures';

const result = (exitCode: number, outputPath: string) =>
  re.ActionResult.create({ exitCode, outputFiles: [{ path: outputPath, digest: blob(outputPath).digest.toProto(), isExecutable: true }] });

describe('FileActionCache', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
  });
  const newRoot = async () => {
    const d = await tempDir('file-ac');
    dirs.push(d);
    return d;
  };

  it('returns undefined for an unknown action and the stored result after a put', async () => {
    const ac = await FileActionCache.open(await newRoot());
    const action = blob('action 1').digest;
    assert.equal(await ac.get(action), undefined);
    await ac.put(action, result(3, 'out/a'));
    const got = await ac.get(action);
    assert.equal(got?.exitCode, 3);
    assert.equal(got?.outputFiles[0].path, 'out/a');
    assert.equal(got?.outputFiles[0].isExecutable, true);
    assert.equal(got?.outputFiles[0].digest?.hash, blob('out/a').digest.hash);
  });

  it('replaces an entry on a second put', async () => {
    const ac = await FileActionCache.open(await newRoot());
    const action = blob('action 2').digest;
    await ac.put(action, result(1, 'first'));
    await ac.put(action, result(0, 'second'));
    assert.equal((await ac.get(action))?.outputFiles[0].path, 'second');
  });

  it('keeps entries across a reopen and wipes temp files a crash left behind', async () => {
    const root = await newRoot();
    const first = await FileActionCache.open(root);
    const actions = ['a', 'b', 'c'].map((s) => blob(`action ${s}`).digest);
    for (const [i, a] of actions.entries()) await first.put(a, result(i, `out/${i}`));
    await fsp.writeFile(path.join(root, 'tmp', 'half-written'), 'x');

    const second = await FileActionCache.open(root);
    for (const [i, a] of actions.entries()) assert.equal((await second.get(a))?.outputFiles[0].path, `out/${i}`);
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), []);
  });

  it('removes the least recently used entries beyond maxBytes, from disk too', async () => {
    const root = await newRoot();
    const entryBytes = Buffer.from(re.ActionResult.encode(result(0, 'out/0')).finish()).length + 256;
    const ac = await FileActionCache.open(root, { maxBytes: entryBytes * 3 });
    const actions = [0, 1, 2, 3].map((i) => blob(`lru action ${i}`).digest);
    for (const [i, a] of actions.slice(0, 3).entries()) await ac.put(a, result(0, `out/${i}`));
    assert.ok(await ac.get(actions[0]), 'a hit makes action 0 the most recently used');
    await ac.put(actions[3], result(0, 'out/3'));
    await new Promise((r) => setTimeout(r, 50)); // the unlink runs in the background
    assert.equal(await ac.get(actions[1]), undefined, 'action 1 was the least recently used');
    await assert.rejects(fsp.stat(path.join(root, actions[1].hash.slice(0, 2), actions[1].key)), { code: 'ENOENT' });
    for (const i of [0, 2, 3]) assert.ok(await ac.get(actions[i]), `action ${i} stays`);
    assert.ok(ac.sizeBytes <= entryBytes * 3);
  });

  it('indexes at most maxEntries entries, evicting the least recently used (file too), also at reopen', async () => {
    // Small results far below maxBytes: without a count bound the in-memory index grows with every one (~250 B each).
    const root = await newRoot();
    const ac = await FileActionCache.open(root, { maxEntries: 3 });
    const actions = [0, 1, 2, 3].map((i) => blob(`count action ${i}`).digest);
    for (const [i, a] of actions.slice(0, 3).entries()) await ac.put(a, result(0, `out/${i}`));
    assert.ok(await ac.get(actions[0]), 'a hit makes action 0 the most recently used');
    await ac.put(actions[3], result(0, 'out/3'));
    assert.equal(ac.entries, 3);
    await new Promise((r) => setTimeout(r, 50)); // the unlink runs in the background
    await assert.rejects(fsp.stat(path.join(root, actions[1].hash.slice(0, 2), actions[1].key)), { code: 'ENOENT' });
    assert.equal(await ac.get(actions[1]), undefined, 'action 1 was the least recently used');
    for (const i of [0, 2, 3]) assert.ok(await ac.get(actions[i]), `action ${i} stays`);

    const smaller = await FileActionCache.open(root, { maxEntries: 2 });
    assert.equal(smaller.entries, 2, 'the oldest entry went at reopen');
  });

  it('keeps a rewritten entry whose old copy is evicted while the rewrite is being published', async () => {
    // The soak's failure: UpdateActionResult acknowledged, then GetActionResult NOT_FOUND. The rewrite had renamed its
    // file into place; before it was indexed, another entry evicted the old copy, and that unlink deleted the new file.
    const shard = (d: { hash: string }) => d.hash.slice(0, 2);
    const a = blob('rewritten action').digest;
    const b = [...Array(50).keys()].map((i) => blob(`other action ${i}`).digest).find((d) => shard(d) !== shard(a))!;
    let gate: { started: () => void; done: Promise<void> } | undefined;
    const ac = await FileActionCache.open(await newRoot(), {
      maxEntries: 1,
      syncDirectory: async (dir) => {
        const g = gate;
        if (!g || path.basename(dir) !== shard(a)) return;
        gate = undefined;
        g.started();
        await g.done;
      },
    });
    await ac.put(a, result(1, 'old'));
    let started!: () => void;
    let release!: () => void;
    const fsyncStarted = new Promise<void>((r) => (started = r));
    gate = { started, done: new Promise<void>((r) => (release = r)) };
    const rewrite = ac.put(a, result(0, 'new'));
    await fsyncStarted; // renamed into place, not yet indexed
    await ac.put(b, result(0, 'b')); // evicts the old copy of `a` (maxEntries 1)
    await new Promise((r) => setTimeout(r, 50)); // an unlink of it would have run by now
    release();
    await rewrite;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await ac.get(a))?.outputFiles[0].path, 'new', 'the acknowledged rewrite is readable');
  });

  it('rebuilds its index at open, keeping the most recently modified entries under a smaller maxBytes', async () => {
    const root = await newRoot();
    const big = await FileActionCache.open(root);
    const actions = [0, 1, 2].map((i) => blob(`reopen action ${i}`).digest);
    for (const [i, a] of actions.entries()) {
      await big.put(a, result(0, `out/${i}`));
      const t = 1_700_000_000 + i * 100; // distinct mtimes, oldest first
      await fsp.utimes(path.join(root, a.hash.slice(0, 2), a.key), t, t);
    }
    const entryBytes = Buffer.from(re.ActionResult.encode(result(0, 'out/0')).finish()).length + 256;
    const small = await FileActionCache.open(root, { maxBytes: entryBytes * 2 });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await small.get(actions[0]), undefined, 'the oldest entry went');
    assert.ok(await small.get(actions[1]));
    assert.ok(await small.get(actions[2]));
  });

  it('treats an unreadable entry as a miss', async () => {
    const root = await newRoot();
    const ac = await FileActionCache.open(root);
    const action = blob('action corrupt').digest;
    await ac.put(action, result(0, 'x'));
    await fsp.writeFile(path.join(root, action.hash.slice(0, 2), action.key), Buffer.from([0xff, 0xff, 0xff]));
    assert.equal(await ac.get(action), undefined);
  });
});
