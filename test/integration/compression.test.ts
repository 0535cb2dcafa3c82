import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { compress, decompress } from 'zstd-napi';
import { BLAKE3 } from '../../src/digest/digest-function';
import { re, REv2 } from '../../src/proto';
import { blobOf, bytes, num, TestBlob, writeName } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';

const off = (n: number) => Long.fromNumber(n);
const ZSTD = re.Compressor.Value.ZSTD;
/**
 * Compressible but not trivial: random words, like source files and rlibs' symbol tables. Exactly `size` bytes (it
 * once came out a byte short whenever the last word ended on `size`, and the bomb test's expected message with it).
 */
function textLike(size: number): Buffer {
  const words = Array.from({ length: 500 }, () => Buffer.from(`${randomBytes(3 + (randomBytes(1)[0] % 8)).toString('hex')} `));
  const picks = randomBytes(2 * Math.ceil(size / 7 + 1)); // words are at least 7 bytes with their space
  const out = Buffer.allocUnsafe(size + 21);
  let n = 0;
  for (let i = 0; n < size; i += 2) n += words[picks.readUInt16LE(i) % words.length].copy(out, n);
  return out.subarray(0, size);
}
const zName = (b: Pick<TestBlob, 'hash' | 'size'>) => writeName(b).replace('/blobs/', '/compressed-blobs/zstd/');
const zRead = (b: Pick<TestBlob, 'hash' | 'size'>) => `compressed-blobs/zstd/${b.hash}/${b.size}`;
/** Splits a buffer into WriteRequests of `chunk` bytes with offsets counted in the bytes sent (REAPI for compressed uploads). */
function requests(name: string, data: Buffer, chunk: number, from = 0, finish = true) {
  const out = [];
  for (let o = 0; o < data.byteLength; o += chunk) {
    out.push({ resourceName: o === 0 ? name : '', writeOffset: off(from + o), data: data.subarray(o, o + chunk), finishWrite: finish && o + chunk >= data.byteLength });
  }
  return out;
}

describe('zstd compression', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());
  const c = () => server.clients;
  const missing = async (b: TestBlob, digestFunction = 0) => (await c().cas.findMissingBlobs({ blobDigests: [b.digest], digestFunction })).missingBlobDigests.length === 1;

  it('advertises zstd for ByteStream and for batch updates', async () => {
    const caps = await c().capabilities.getCapabilities({});
    assert.deepEqual(caps.cacheCapabilities!.supportedCompressors, [ZSTD]);
    assert.deepEqual(caps.cacheCapabilities!.supportedBatchUpdateCompressors, [ZSTD]);
  });

  it('accepts a compressed ByteStream upload in chunks, answers committed_size in compressed bytes, and serves it both ways', async () => {
    const blob = blobOf(textLike(3 * 1024 * 1024 + 11));
    const z = compress(blob.data);
    assert.ok(z.byteLength < blob.size / 2, 'the test data compresses');
    const res = await c().byteStream.write(requests(zName(blob), z, 256 * 1024));
    assert.equal(num(res.committedSize), z.byteLength);
    assert.ok((await c().byteStream.read(`blobs/${blob.hash}/${blob.size}`)).equals(blob.data), 'stored as the uncompressed blob');
    const served = await c().byteStream.read(zRead(blob));
    assert.ok(served.byteLength < blob.size / 2);
    assert.ok(decompress(served).equals(blob.data));
    const fromOffset = await c().byteStream.read(zRead(blob), 1_000_000);
    assert.ok(decompress(fromOffset).equals(blob.data.subarray(1_000_000)), 'read_offset counts uncompressed bytes');
  });

  it('half-closes a compressed upload with committed_size in compressed bytes, then resumes and completes', async () => {
    const blob = blobOf(textLike(2 * 1024 * 1024));
    const z = compress(blob.data);
    const name = zName(blob);
    const cut = Math.floor(z.byteLength / 2);
    const half = await c().byteStream.write(requests(name, z.subarray(0, cut), 64 * 1024, 0, false));
    assert.equal(num(half.committedSize), cut);
    const status = await c().byteStream.queryWriteStatus({ resourceName: name });
    assert.deepEqual([num(status.committedSize), status.complete], [cut, false]);
    assert.ok(await missing(blob));
    const done = await c().byteStream.write(requests(name, z.subarray(cut), 64 * 1024, cut));
    assert.equal(num(done.committedSize), z.byteLength);
    assert.ok((await c().byteStream.read(`blobs/${blob.hash}/${blob.size}`)).equals(blob.data));
    const after = await c().byteStream.queryWriteStatus({ resourceName: name });
    assert.deepEqual([num(after.committedSize), after.complete], [-1, true]);
  });

  it('finishes a compressed upload of a stored blob early with committed_size -1', async () => {
    const blob = blobOf(textLike(100_000));
    await c().byteStream.write([{ resourceName: writeName(blob), writeOffset: off(0), data: blob.data, finishWrite: true }]);
    const res = await c().byteStream.write(requests(zName(blob), compress(blob.data), 10_000));
    assert.equal(num(res.committedSize), -1);
  });

  it('stores zstd batch uploads and returns compressed batch reads when the client accepts zstd', async () => {
    const big = blobOf(textLike(200_000));
    const small = blobOf('tiny');
    const up = await c().cas.batchUpdateBlobs({ requests: [{ digest: big.digest, data: compress(big.data), compressor: ZSTD }, { digest: small.digest, data: small.data }] });
    assert.deepEqual(up.responses.map((r) => r.status?.code ?? 0), [0, 0]);
    const read = await c().cas.batchReadBlobs({ digests: [big.digest, small.digest], acceptableCompressors: [ZSTD] });
    assert.equal(read.responses[0].compressor, ZSTD);
    assert.ok(bytes(read.responses[0].data).byteLength < big.size / 2);
    assert.ok(decompress(bytes(read.responses[0].data)).equals(big.data));
    assert.equal(read.responses[1].compressor, re.Compressor.Value.IDENTITY, 'a 4-byte blob is not worth a frame');
    assert.equal(bytes(read.responses[1].data).toString(), 'tiny');
    const plain = await c().cas.batchReadBlobs({ digests: [big.digest] });
    assert.equal(plain.responses[0].compressor, re.Compressor.Value.IDENTITY);
    assert.ok(bytes(plain.responses[0].data).equals(big.data));
  });

  it('combines zstd with BLAKE3 (compressed-blobs/zstd/blake3/…), as Buck2 sends', async () => {
    const data = textLike(500_000);
    const d = { hash: BLAKE3.hashHex(data), size: data.byteLength };
    const z = compress(data);
    const res = await c().byteStream.write(requests(`uploads/0b1c2d3e-0000-4000-8000-00000000b3b3/compressed-blobs/zstd/blake3/${d.hash}/${d.size}`, z, 100_000));
    assert.equal(num(res.committedSize), z.byteLength);
    assert.ok(decompress(await c().byteStream.read(`compressed-blobs/zstd/blake3/${d.hash}/${d.size}`)).equals(data));
  });

  describe('bad input', () => {
    it('rejects a compressed stream that decompresses to other bytes, and stores nothing', async () => {
      const blob = blobOf(textLike(50_000));
      const lie = compress(textLike(50_000));
      await expectStatus(c().byteStream.write(requests(zName(blob), lie, 16 * 1024)), Code.INVALID_ARGUMENT, 'sha256');
      assert.ok(await missing(blob));
      const up = await c().cas.batchUpdateBlobs({ requests: [{ digest: blob.digest, data: lie, compressor: ZSTD }] });
      assert.equal(up.responses[0].status?.code, Code.INVALID_ARGUMENT);
      assert.ok(await missing(blob));
    });

    it('rejects bytes that are not zstd, a truncated frame, and a stream longer than the digest', async () => {
      const blob = blobOf(textLike(40_000));
      assert.equal(blob.size, 40_000);
      await expectStatus(c().byteStream.write(requests(zName(blob), randomBytes(5000), 1000)), Code.INVALID_ARGUMENT, 'zstd stream is corrupt');
      const z = compress(blob.data);
      await expectStatus(c().byteStream.write(requests(zName(blob), z.subarray(0, z.byteLength - 10), 1000)), Code.INVALID_ARGUMENT, 'middle of a frame');
      const bomb = compress(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in a few KiB, sent for a 40 kB digest
      await expectStatus(c().byteStream.write(requests(zName(blob), bomb, 1000)), Code.INVALID_ARGUMENT, `more than the ${blob.size} bytes`);
      const up = await c().cas.batchUpdateBlobs({ requests: [{ digest: blob.digest, data: bomb, compressor: ZSTD }] });
      assert.equal(up.responses[0].status?.code, Code.INVALID_ARGUMENT);
      assert.ok(await missing(blob));
    });

    it('rejects an unknown compressor by name and by value, and a read_limit on a compressed read', async () => {
      const blob = blobOf('some bytes');
      await c().cas.batchUpdateBlobs({ requests: [{ digest: blob.digest, data: blob.data }] });
      await expectStatus(c().byteStream.read(`compressed-blobs/brotli/${blob.hash}/${blob.size}`), Code.INVALID_ARGUMENT, 'compressor "brotli"', 'supported: zstd');
      await expectStatus(c().byteStream.write(requests(writeName(blob).replace('/blobs/', '/compressed-blobs/lz5/'), blob.data, 100)), Code.INVALID_ARGUMENT, 'lz5');
      const up = await c().cas.batchUpdateBlobs({ requests: [{ digest: blob.digest, data: blob.data, compressor: re.Compressor.Value.DEFLATE }, { digest: blob.digest, data: blob.data, compressor: 42 as REv2.Compressor.Value }] });
      assert.deepEqual(up.responses.map((r) => r.status?.code), [Code.INVALID_ARGUMENT, Code.INVALID_ARGUMENT]);
      assert.match(up.responses[0].status?.message ?? '', /compressor deflate is not supported/);
      assert.match(up.responses[1].status?.message ?? '', /compressor 42 is not supported/);
      await expectStatus(c().byteStream.read(zRead(blob), 0, 5), Code.INVALID_ARGUMENT, 'read_limit must be 0');
    });
  });
});
