import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Long from 'long';
import { encode, re, REv2 } from '../../src/proto';
import { blobOf, randomBlob, readName, TestBlob, writeName } from '../helpers/blobs';
import { Clients, createClients } from '../helpers/clients';
import { ServerProcess, startServerProcess } from './server-process';

/** CRASH_TRIALS sets the number of SIGKILLs (spread over RIGS servers running side by side). */
const TRIALS = Number(process.env.CRASH_TRIALS ?? 51);
const RIGS = 3;
const FRONTEND = path.join(__dirname, '../../src/cmd/frontend-main.js');
const CHUNK = 32 * 1024;

/** Streams a blob through ByteStream Write with backpressure; resolves once the server acknowledged all of it. */
async function upload(clients: Clients, blob: TestBlob): Promise<void> {
  const w = clients.byteStream.openWrite();
  const name = writeName(blob);
  let settled = false;
  const response = w.response.finally(() => (settled = true));
  response.catch(() => undefined);
  for (let off = 0; off < blob.size && !settled; off += CHUNK) {
    const ok = w.stream.write({ resourceName: name, writeOffset: Long.fromNumber(off), data: blob.data.subarray(off, off + CHUNK), finishWrite: off + CHUNK >= blob.size });
    if (!ok) await Promise.race([once(w.stream, 'drain'), response.catch(() => undefined)]);
  }
  w.stream.end();
  const res = await response;
  assert.equal(Long.fromValue(res.committedSize).toNumber(), blob.size);
}

interface Acked {
  blobs: TestBlob[];
  ac: { action: REv2.Digest; result: REv2.ActionResult }[];
}

interface Counts {
  kills: number;
  byteStream: number;
  batch: number;
  ac: number;
  /** Temp files found right after a kill: uploads the kill cut off mid-way. */
  tempFilesAtKill: number;
  blobFilesHashed: number;
}

/** Every file under the shard directories `{root}/??/`. */
async function shardFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await fsp.readdir(root).catch(() => [] as string[])) {
    if (/^[0-9a-f]{2}$/.test(shard)) for (const name of await fsp.readdir(path.join(root, shard))) out.push(path.join(root, shard, name));
  }
  return out;
}

const tempFiles = async (data: string) => (await Promise.all(['cas/tmp', 'ac/tmp'].map((d) => fsp.readdir(path.join(data, d)).catch(() => [])))).flat();

/** Uploads through ByteStream, BatchUpdateBlobs and UpdateActionResult on every lane until the server dies. */
async function load(clients: Clients, acked: Acked, counts: Counts, dead: () => boolean): Promise<void> {
  const lane = async (step: () => Promise<void>) => {
    while (!dead()) await step().catch(() => undefined);
  };
  const byteStream = async () => {
    const b = randomBlob(40 * 1024 + Math.floor(Math.random() * 160 * 1024)); // 2–7 chunks
    await upload(clients, b);
    acked.blobs.push(b);
    counts.byteStream++;
  };
  const batch = async () => {
    const blobs = Array.from({ length: 4 }, () => randomBlob(1 + Math.floor(Math.random() * 16 * 1024)));
    const res = await clients.cas.batchUpdateBlobs({ requests: blobs.map((b) => ({ digest: b.digest, data: b.data })) });
    res.responses.forEach((r, i) => {
      if ((r.status?.code ?? 0) === 0) {
        acked.blobs.push(blobs[i]);
        counts.batch++;
      }
    });
  };
  const ac = async () => {
    const action = blobOf(randomBytes(32)).digest;
    const out = acked.blobs.length ? acked.blobs[Math.floor(Math.random() * acked.blobs.length)] : undefined;
    const result = re.ActionResult.create({ exitCode: Math.floor(Math.random() * 3), outputFiles: out ? [{ path: 'out/file', digest: out.digest }] : [] });
    await clients.ac.updateActionResult({ actionDigest: action, actionResult: result });
    acked.ac.push({ action, result });
    counts.ac++;
  };
  await Promise.all([byteStream, byteStream, byteStream, batch, batch, ac, ac].map(lane));
}

/** After a restart: no temp files; every blob file whole; every acknowledged blob and AC entry there and intact. */
async function verify(data: string, clients: Clients, acked: Acked, hashed: Set<string>, since: number, counts: Counts): Promise<void> {
  assert.deepEqual(await tempFiles(data), [], 'no temp file is left after start-up');
  for (const f of await shardFiles(path.join(data, 'cas'))) {
    const m = /^([0-9a-f]{64})-(\d+)$/.exec(path.basename(f));
    assert.ok(m, `unexpected file ${f}`);
    assert.equal((await fsp.stat(f)).size, Number(m[2]), `${f} has the size its name says`);
    // Blob files are immutable once renamed into place: each is hashed the first time it is seen.
    if (!hashed.has(f)) {
      assert.equal(createHash('sha256').update(await fsp.readFile(f)).digest('hex'), m[1], `${f} hashes to its name`);
      hashed.add(f);
      counts.blobFilesHashed++;
    }
  }
  for (const f of await shardFiles(path.join(data, 'ac'))) re.ActionResult.decode(await fsp.readFile(f)); // every AC file decodes
  for (let i = 0; i < acked.blobs.length; i += 1000) {
    const missing = await clients.cas.findMissingBlobs({ blobDigests: acked.blobs.slice(i, i + 1000).map((b) => b.digest) });
    assert.deepEqual(missing.missingBlobDigests, [], 'every acknowledged blob survived');
  }
  for (const b of acked.blobs.slice(since)) assert.ok((await clients.byteStream.read(readName(b))).equals(b.data), `${readName(b)} reads back intact`);
  for (const { action, result } of acked.ac) {
    const got = await clients.ac.getActionResult({ actionDigest: action });
    assert.deepEqual(encode(re.ActionResult, re.ActionResult.create({ ...got, executionMetadata: null })), encode(re.ActionResult, result), 'every acknowledged AC entry is served as written');
  }
}

describe('crash trials: the server SIGKILLed at random points during concurrent ByteStream, Batch and AC uploads', () => {
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  after(async () => {
    for (const s of servers) await s.kill();
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
  });

  it(`loses nothing acknowledged and shows nothing partial over ${TRIALS} kills`, async (t) => {
    const counts: Counts = { kills: 0, byteStream: 0, batch: 0, ac: 0, tempFilesAtKill: 0, blobFilesHashed: 0 };
    const rig = async (trials: number) => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-crash-'));
      dirs.push(dir);
      const data = path.join(dir, 'data');
      const acked: Acked = { blobs: [], ac: [] };
      const hashed = new Set<string>();
      let since = 0;
      for (let i = 0; i <= trials; i++) {
        const server = await startServerProcess({ entry: FRONTEND, args: ['--data', data] });
        servers.push(server);
        const clients = createClients(server.address);
        try {
          await verify(data, clients, acked, hashed, since, counts);
          if (i === trials) return;
          since = acked.blobs.length;
          let dead = false;
          const running = load(clients, acked, counts, () => dead);
          // A random point once uploads flow (connecting takes a while on a busy machine): after 0–11 acknowledgements
          // plus 0–100 ms, which lands mid-write, mid-fsync or mid-rename of the uploads in flight.
          const acksBefore = counts.byteStream + counts.batch + counts.ac;
          const target = Math.floor(Math.random() * 12);
          for (let waited = 0; counts.byteStream + counts.batch + counts.ac - acksBefore < target && waited < 10_000; waited += 5) await sleep(5);
          await sleep(Math.random() * 100);
          await server.kill('SIGKILL');
          dead = true;
          counts.kills++;
          counts.tempFilesAtKill += (await tempFiles(data)).length;
          await running;
        } finally {
          clients.close();
          await server.stop();
        }
      }
    };
    await Promise.all(Array.from({ length: RIGS }, (_, i) => rig(Math.floor(TRIALS / RIGS) + (i < TRIALS % RIGS ? 1 : 0))));
    t.diagnostic(`crash trials: ${JSON.stringify(counts)}`);
    assert.equal(counts.kills, TRIALS);
    assert.ok(counts.tempFilesAtKill > 0, 'some kills landed in the middle of an upload');
    assert.ok(counts.byteStream > 0 && counts.batch > 0 && counts.ac > 0, 'the trials acknowledged uploads of every kind');
  });
});
