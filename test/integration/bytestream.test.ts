import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Long from 'long';
import { blobOf, bytes, num, randomBlob, readName, TestBlob, writeName } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { installZeroCopyFraming } from '../../src/grpc/framed-message';
import { startTestServer, TestServer } from '../helpers/test-server';

const off = (n: number) => Long.fromNumber(n);

describe('ByteStream', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const bs = () => server.clients.byteStream;
  const uploadWhole = (b: TestBlob, name = writeName(b)) => bs().write([{ resourceName: name, writeOffset: off(0), data: b.data, finishWrite: true }]);
  const isMissing = async (b: TestBlob) => (await server.clients.cas.findMissingBlobs({ blobDigests: [b.digest] })).missingBlobDigests.length === 1;
  /** Polls QueryWriteStatus until the server has taken `n` bytes of an upload (a Write is asynchronous). */
  const waitCommitted = async (name: string, n: number) => {
    for (let i = 0; i < 200; i++) {
      const s = await bs().queryWriteStatus({ resourceName: name }).catch(() => undefined);
      if (s && num(s.committedSize) === n) return;
      await sleep(5);
    }
    assert.fail(`upload ${name} never reached ${n} committed bytes`);
  };

  describe('Read', () => {
    const blob = randomBlob(3 * 1024 * 1024 + 17); // larger than one ReadResponse chunk
    before(() => uploadWhole(blob));

    it('streams a multi-chunk blob back byte for byte', async () => {
      const responses = await bs().readResponses({ resourceName: readName(blob) });
      assert.ok(responses.length > 1, 'a 3 MiB blob arrives in several ReadResponses');
      assert.ok(Buffer.concat(responses.map((r) => bytes(r.data))).equals(blob.data));
    });

    it('honours read_offset and read_limit', async () => {
      assert.ok((await bs().read(readName(blob), 1000, 0)).equals(blob.data.subarray(1000)));
      assert.ok((await bs().read(readName(blob), 0, 10)).equals(blob.data.subarray(0, 10)));
      assert.ok((await bs().read(readName(blob), 2 * 1024 * 1024 - 3, 7)).equals(blob.data.subarray(2 * 1024 * 1024 - 3, 2 * 1024 * 1024 + 4)));
      assert.ok((await bs().read(readName(blob), blob.size - 5, 100)).equals(blob.data.subarray(blob.size - 5)), 'a limit past the end stops at the end');
    });

    it('returns nothing for read_offset equal to the size', async () => {
      assert.equal((await bs().read(readName(blob), blob.size)).byteLength, 0);
    });

    it('keeps serving after a client cancels a large read half-way', async () => {
      const call = bs().readStream({ resourceName: readName(blob) });
      const first = await new Promise<Buffer>((resolve) => call.once('data', (r: { data: Uint8Array }) => resolve(bytes(r.data))));
      assert.ok(first.equals(blob.data.subarray(0, first.byteLength)));
      call.on('error', () => undefined);
      call.cancel();
      assert.ok((await bs().read(readName(blob), 5, 5)).equals(blob.data.subarray(5, 10)));
    });

    it('reads back a small blob in one response', async () => {
      const small = blobOf('small blob');
      await uploadWhole(small);
      assert.equal((await bs().read(readName(small))).toString(), 'small blob');
    });

    it('sends frames without copying them, and concurrent reads sharing the frame pool each arrive intact', async () => {
      assert.equal(installZeroCopyFraming(), true, "grpc-js's private serializeMessage moved: reads fall back to copying every chunk");
      const other = randomBlob(2 * 1024 * 1024 + 5);
      await uploadWhole(other);
      const reads = [blob, other, blob, other, blob, other].map((b, i) => bs().read(readName(b), i * 1000).then((data) => ({ b, i, data })));
      for (const { b, i, data } of await Promise.all(reads)) assert.ok(data.equals(b.data.subarray(i * 1000)), `read ${i} intact`);
    });

    it('fails with DATA_LOSS when the stored file is shorter than its digest, after the bytes it has', async () => {
      const b = randomBlob(1024 * 1024 + 100);
      await uploadWhole(b);
      await fsp.truncate(path.join(server.dataDir, 'cas', b.hash.slice(0, 2), `${b.hash}-${b.size}`), 1024 * 1024 + 10);
      const received: Buffer[] = [];
      const call = bs().readStream({ resourceName: readName(b) });
      call.on('data', (r: { data: Uint8Array }) => received.push(bytes(r.data)));
      await expectStatus(new Promise((resolve, reject) => (call.on('end', resolve), call.on('error', reject))), Code.DATA_LOSS, /ends after 1048586 bytes/);
      assert.ok(Buffer.concat(received).equals(b.data.subarray(0, Buffer.concat(received).byteLength)), 'whatever arrived is the right bytes');
    });

    it('advertises 8 MiB HTTP/2 receive windows, so uploads do not wait for a WINDOW_UPDATE every 64 KiB', async () => {
      const session = http2.connect(`http://${server.address}`);
      try {
        const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
        assert.equal(settings.initialWindowSize, 8 * 1024 * 1024, 'stream window');
        for (let i = 0; i < 100 && session.state.remoteWindowSize! < 8 * 1024 * 1024; i++) await sleep(10);
        assert.equal(session.state.remoteWindowSize, 8 * 1024 * 1024, 'connection window');
      } finally {
        session.destroy();
      }
    });
  });

  describe('Write', () => {
    it('accepts a blob in several chunks and reports its full size committed', async () => {
      const blob = randomBlob(200_000);
      const name = writeName(blob);
      const chunks = [0, 70_000, 140_000].map((start, i, a) => ({
        resourceName: i === 0 ? name : '', // later requests may leave resource_name empty
        writeOffset: off(start),
        data: blob.data.subarray(start, a[i + 1] ?? blob.size),
        finishWrite: i === a.length - 1,
      }));
      const res = await bs().write(chunks);
      assert.equal(num(res.committedSize), blob.size);
      assert.ok((await bs().read(readName(blob))).equals(blob.data));
    });

    it('finishes early with committed_size = size when the blob already exists', async () => {
      const blob = randomBlob(100_000);
      await uploadWhole(blob);
      const w = bs().openWrite();
      w.send({ resourceName: writeName(blob), writeOffset: off(0), data: blob.data.subarray(0, 1000) });
      // No finish_write and the stream stays open: the server must answer anyway.
      const res = await w.response;
      assert.equal(num(res.committedSize), blob.size);
      w.stream.end();
    });

    it('resumes an interrupted upload where QueryWriteStatus says it stopped', async () => {
      const blob = randomBlob(300_000);
      const name = writeName(blob);
      const half = 150_000;
      const w = bs().openWrite();
      w.send({ resourceName: name, writeOffset: off(0), data: blob.data.subarray(0, 100_000) });
      w.send({ writeOffset: off(100_000), data: blob.data.subarray(100_000, half) });
      await waitCommitted(name, half);
      w.stream.cancel(); // the connection "drops" half-way
      await expectStatus(w.response, Code.CANCELLED);

      const status = await bs().queryWriteStatus({ resourceName: name });
      assert.equal(num(status.committedSize), half);
      assert.equal(status.complete, false);
      assert.ok(await isMissing(blob), 'a half-written blob is not visible');

      const res = await bs().write([{ resourceName: name, writeOffset: off(half), data: blob.data.subarray(half), finishWrite: true }]);
      assert.equal(num(res.committedSize), blob.size);
      assert.ok((await bs().read(readName(blob))).equals(blob.data));
      const done = await bs().queryWriteStatus({ resourceName: name });
      assert.deepEqual([num(done.committedSize), done.complete], [blob.size, true]);
    });

    it('rejects a resume at the wrong write_offset, naming both offsets, and still accepts the right one', async () => {
      const blob = randomBlob(50_000);
      const name = writeName(blob);
      const w = bs().openWrite();
      w.send({ resourceName: name, writeOffset: off(0), data: blob.data.subarray(0, 20_000) });
      await waitCommitted(name, 20_000);
      w.stream.cancel();
      await expectStatus(w.response, Code.CANCELLED);

      await expectStatus(bs().write([{ resourceName: name, writeOffset: off(25_000), data: blob.data.subarray(25_000), finishWrite: true }]), Code.INVALID_ARGUMENT, 'write_offset 25000', '20000');
      await expectStatus(bs().write([{ resourceName: name, writeOffset: off(10_000), data: blob.data.subarray(10_000), finishWrite: true }]), Code.INVALID_ARGUMENT, 'write_offset 10000');
      const res = await bs().write([{ resourceName: name, writeOffset: off(20_000), data: blob.data.subarray(20_000), finishWrite: true }]);
      assert.equal(num(res.committedSize), blob.size);
      assert.ok((await bs().read(readName(blob))).equals(blob.data));
    });

    it('rejects a non-zero write_offset mid-stream that skips bytes', async () => {
      const blob = randomBlob(1000);
      await expectStatus(
        bs().write([
          { resourceName: writeName(blob), writeOffset: off(0), data: blob.data.subarray(0, 100) },
          { writeOffset: off(200), data: blob.data.subarray(200), finishWrite: true },
        ]),
        Code.INVALID_ARGUMENT,
        'write_offset 200',
      );
      assert.ok(await isMissing(blob));
    });

    it('rejects a resume of an upload the server does not know, asking to start at 0', async () => {
      const blob = randomBlob(1000);
      await expectStatus(bs().write([{ resourceName: writeName(blob), writeOffset: off(500), data: blob.data.subarray(500), finishWrite: true }]), Code.NOT_FOUND, 'write_offset 0');
    });

    it('answers QueryWriteStatus for an unknown upload with NOT_FOUND', async () => {
      const blob = randomBlob(10);
      await expectStatus(bs().queryWriteStatus({ resourceName: writeName(blob) }), Code.NOT_FOUND, 'no upload in progress');
    });

    it('answers a half-close at 2 MiB without finish_write with committed_size, then resumes and completes', async () => {
      const blob = randomBlob(3 * 1024 * 1024 + 5);
      const name = writeName(blob);
      const twoMiB = 2 * 1024 * 1024;
      const halfClosed = await bs().write([
        { resourceName: name, writeOffset: off(0), data: blob.data.subarray(0, 1024 * 1024) },
        { writeOffset: off(1024 * 1024), data: blob.data.subarray(1024 * 1024, twoMiB) },
      ]);
      assert.equal(num(halfClosed.committedSize), twoMiB);
      const status = await bs().queryWriteStatus({ resourceName: name });
      assert.deepEqual([num(status.committedSize), status.complete], [twoMiB, false]);
      assert.ok(await isMissing(blob), 'nothing is visible before finish_write');
      const res = await bs().write([{ resourceName: name, writeOffset: off(twoMiB), data: blob.data.subarray(twoMiB), finishWrite: true }]);
      assert.equal(num(res.committedSize), blob.size);
      assert.ok((await bs().read(readName(blob))).equals(blob.data));
    });

    it('refuses a second concurrent stream for the same upload with ABORTED', async () => {
      const blob = randomBlob(4000);
      const name = writeName(blob);
      const w = bs().openWrite();
      w.send({ resourceName: name, writeOffset: off(0), data: blob.data.subarray(0, 1000) });
      await waitCommitted(name, 1000);
      await expectStatus(bs().write([{ resourceName: name, writeOffset: off(1000), data: blob.data.subarray(1000), finishWrite: true }]), Code.ABORTED, 'already writing');
      w.send({ writeOffset: off(1000), data: blob.data.subarray(1000), finishWrite: true });
      w.stream.end();
      assert.equal(num((await w.response).committedSize), blob.size);
    });

    it('rejects a resource_name that changes within one stream', async () => {
      const blob = randomBlob(100);
      await expectStatus(
        bs().write([
          { resourceName: writeName(blob), writeOffset: off(0), data: blob.data.subarray(0, 10) },
          { resourceName: writeName(blob), writeOffset: off(10), data: blob.data.subarray(10), finishWrite: true },
        ]),
        Code.INVALID_ARGUMENT,
        'resource_name changed',
      );
    });
  });

  describe('abandoned uploads', () => {
    let quick: TestServer;
    before(async () => {
      quick = await startTestServer({ config: { uploadIdleMs: 150 } });
    });
    after(() => quick.close());

    it('forgets an interrupted upload after the idle timeout, so it must restart at 0', async () => {
      const blob = randomBlob(10_000);
      const name = writeName(blob);
      assert.equal(num((await quick.clients.byteStream.write([{ resourceName: name, writeOffset: off(0), data: blob.data.subarray(0, 4000) }])).committedSize), 4000);
      assert.equal(num((await quick.clients.byteStream.queryWriteStatus({ resourceName: name })).committedSize), 4000);
      await sleep(400);
      await expectStatus(quick.clients.byteStream.queryWriteStatus({ resourceName: name }), Code.NOT_FOUND, 'no upload in progress');
      await expectStatus(quick.clients.byteStream.write([{ resourceName: name, writeOffset: off(4000), data: blob.data.subarray(4000), finishWrite: true }]), Code.NOT_FOUND, 'write_offset 0');
      const res = await quick.clients.byteStream.write([{ resourceName: name, writeOffset: off(0), data: blob.data, finishWrite: true }]);
      assert.equal(num(res.committedSize), blob.size);
    });
  });
});
