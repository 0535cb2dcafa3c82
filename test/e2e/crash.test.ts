import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import Long from 'long';
import { randomBlob, TestBlob, writeName } from '../helpers/blobs';
import { Clients, createClients } from '../helpers/clients';
import { ServerProcess, startServerProcess } from './server-process';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** Streams a blob through ByteStream Write with backpressure; resolves with the server's acknowledgement. */
async function upload(clients: Clients, blob: TestBlob): Promise<void> {
  const w = clients.byteStream.openWrite();
  const name = writeName(blob);
  let settled = false;
  const response = w.response.finally(() => (settled = true));
  response.catch(() => undefined); // awaited below; a failure while we are still writing must not be "unhandled"
  for (let off = 0; off < blob.size && !settled; off += CHUNK) {
    const ok = w.stream.write({ resourceName: name, writeOffset: Long.fromNumber(off), data: blob.data.subarray(off, off + CHUNK), finishWrite: off + CHUNK >= blob.size });
    // The response settles early if the stream fails (e.g. the server died): never wait for a drain that cannot come.
    if (!ok) await Promise.race([once(w.stream, 'drain'), response.catch(() => undefined)]);
  }
  w.stream.end();
  const res = await response;
  assert.equal(Long.fromValue(res.committedSize).toNumber(), blob.size);
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every file in the shard directories `cas/??/`. */
async function casFiles(cas: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await fsp.readdir(cas)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of await fsp.readdir(path.join(cas, shard))) out.push(path.join(cas, shard, name));
  }
  return out;
}

describe('server killed in the middle of uploads', () => {
  let dir: string | undefined;
  const servers: ServerProcess[] = [];
  const clientSets: Clients[] = [];
  after(async () => {
    for (const c of clientSets) c.close();
    for (const s of servers) await s.kill();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('restarts with only whole, correctly named blobs, no temp files, and every acknowledged upload readable', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-crash-'));
    const data = path.join(dir, 'data');
    const cas = path.join(data, 'cas');
    const first = await startServerProcess({ args: ['--data', data, '--workers', '0'] });
    servers.push(first);
    const c1 = createClients(first.address);
    clientSets.push(c1);

    // Uploads acknowledged well before the crash.
    const acknowledged: TestBlob[] = [];
    for (let i = 0; i < 4; i++) {
      const b = randomBlob(MiB + i);
      await upload(c1, b);
      acknowledged.push(b);
    }

    // Many concurrent multi-MiB uploads; SIGKILL once a few of them were acknowledged and the rest are mid-stream.
    const inFlight = Array.from({ length: 16 }, (_, i) => randomBlob(MiB + ((i * 397_123) % (5 * MiB))));
    let killed: Promise<void> | undefined;
    let acknowledgedInFlight = 0;
    const outcomes = await Promise.allSettled(
      inFlight.map(async (b) => {
        await upload(c1, b);
        // Any acknowledgement means the blob was committed before the server died, whenever it reaches us.
        acknowledged.push(b);
        if (++acknowledgedInFlight === 3) killed = first.kill('SIGKILL');
      }),
    );
    if (!killed) killed = first.kill('SIGKILL');
    await killed;
    c1.close();
    const failed = outcomes.filter((o) => o.status === 'rejected').length;
    assert.ok(failed > 0, 'the kill must land while some uploads are still streaming');
    assert.ok((await fsp.readdir(path.join(cas, 'tmp'))).length > 0, 'the killed uploads left partial temp files behind');

    const second = await startServerProcess({ args: ['--data', data, '--workers', '0'] });
    servers.push(second);
    const c2 = createClients(second.address);
    clientSets.push(c2);

    assert.deepEqual(await fsp.readdir(path.join(cas, 'tmp')), [], 'temp files are removed at start-up');
    const files = await casFiles(cas);
    assert.ok(files.length >= acknowledged.length);
    for (const f of files) {
      const m = /^([0-9a-f]{64})-(\d+)$/.exec(path.basename(f));
      assert.ok(m, `unexpected file ${f}`);
      assert.equal((await fsp.stat(f)).size, Number(m[2]), `${f} has the size its name says`);
      assert.equal(await sha256File(f), m[1], `${f} hashes to its name`);
    }

    const missing = await c2.cas.findMissingBlobs({ blobDigests: acknowledged.map((b) => b.digest) });
    assert.deepEqual(missing.missingBlobDigests, [], 'every acknowledged blob survived the crash');
    for (const b of acknowledged) {
      const got = await c2.byteStream.read(`blobs/${b.hash}/${b.size}`);
      assert.ok(got.equals(b.data), `blob ${b.hash}/${b.size} reads back intact`);
    }
    await second.stop();
  });
});
