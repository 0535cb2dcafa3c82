import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { REv2 } from '../../src/proto';
import { blobOf, bytes, digestProto, EMPTY_HASH, num, randomBlob, readName, TestBlob, writeName } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';

const MAX_BATCH = 64 * 1024;
const off = (n: number) => Long.fromNumber(n);
const some = blobOf('some content');

/** Digests that are wrong in form, with what the error message must mention. */
const malformedDigests: [string, REv2.Digest, string][] = [
  ['a hash that is too short', digestProto('abc123', 3), '"abc123"'],
  ['a hash that is not hex', digestProto('g'.repeat(64), 3), 'lowercase hex'],
  ['an uppercase hash', digestProto(some.hash.toUpperCase(), some.size), 'lowercase hex'],
  ['a hash that is too long', digestProto(`${some.hash}00`, some.size), '64 lowercase hex'],
  ['an empty hash', digestProto('', 0), '64 lowercase hex'],
  ['a negative size', digestProto(some.hash, -5), 'size_bytes -5 is negative'],
];

describe('bad input', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { maxBatchTotalSizeBytes: MAX_BATCH } });
  });
  after(() => server.close());

  const cas = () => server.clients.cas;
  const bs = () => server.clients.byteStream;
  const isMissing = async (b: TestBlob) => (await cas().findMissingBlobs({ blobDigests: [b.digest] })).missingBlobDigests.length === 1;

  describe('malformed digests', () => {
    for (const [what, digest, mention] of malformedDigests) {
      it(`rejects ${what} in FindMissingBlobs, naming the field`, async () => {
        await expectStatus(cas().findMissingBlobs({ blobDigests: [some.digest, digest] }), Code.INVALID_ARGUMENT, 'blob_digests[1]', mention);
      });

      it(`rejects ${what} per item in BatchUpdateBlobs while the other item is stored`, async () => {
        const good = randomBlob(100);
        const res = await cas().batchUpdateBlobs({ requests: [{ digest, data: some.data }, { digest: good.digest, data: good.data }] });
        assert.equal(res.responses.length, 2);
        assert.equal(res.responses[0].status?.code, Code.INVALID_ARGUMENT);
        assert.ok(res.responses[0].status?.message?.includes('requests[0].digest'), res.responses[0].status?.message ?? '');
        assert.ok(res.responses[0].status?.message?.includes(mention), res.responses[0].status?.message ?? '');
        assert.equal(res.responses[1].status?.code ?? 0, Code.OK);
        assert.equal(await isMissing(good), false);
      });

      it(`rejects ${what} per item in BatchReadBlobs while the other item is read`, async () => {
        await cas().batchUpdateBlobs({ requests: [{ digest: some.digest, data: some.data }] });
        const res = await cas().batchReadBlobs({ digests: [digest, some.digest] });
        assert.equal(res.responses[0].status?.code, Code.INVALID_ARGUMENT);
        assert.ok(res.responses[0].status?.message?.includes('digests[0]'), res.responses[0].status?.message ?? '');
        assert.equal(res.responses[1].status?.code ?? 0, Code.OK);
        assert.ok(bytes(res.responses[1].data).equals(some.data));
      });

      it(`rejects ${what} in GetActionResult and GetTree`, async () => {
        await expectStatus(server.clients.ac.getActionResult({ actionDigest: digest }), Code.INVALID_ARGUMENT, 'action_digest', mention);
        await expectStatus(cas().getTree({ rootDigest: digest }), Code.INVALID_ARGUMENT, 'root_digest', mention);
      });
    }

    it('rejects a batch item without a digest, naming it', async () => {
      const res = await cas().batchUpdateBlobs({ requests: [{ data: some.data }] });
      assert.equal(res.responses[0].status?.code, Code.INVALID_ARGUMENT);
      assert.match(res.responses[0].status?.message ?? '', /requests\[0\]\.digest is missing/);
      await expectStatus(server.clients.ac.getActionResult({}), Code.INVALID_ARGUMENT, 'action_digest is missing');
    });

    it('rejects an uppercase hash in a ByteStream resource name', async () => {
      await expectStatus(bs().read(`blobs/${some.hash.toUpperCase()}/${some.size}`), Code.INVALID_ARGUMENT, 'lowercase hex');
      await expectStatus(
        bs().write([{ resourceName: `uploads/u1/blobs/${some.hash.toUpperCase()}/${some.size}`, writeOffset: off(0), data: some.data, finishWrite: true }]),
        Code.INVALID_ARGUMENT,
        'lowercase hex',
      );
    });
  });

  describe('bytes that do not match the digest', () => {
    it('fails only the mismatching items of a batch and stores nothing for them', async () => {
      const good = randomBlob(300);
      const wrongHash = randomBlob(300); // right size, other bytes
      const wrongSize = randomBlob(300); // right bytes, declared one byte longer
      const res = await cas().batchUpdateBlobs({
        requests: [
          { digest: wrongHash.digest, data: randomBlob(300).data },
          { digest: good.digest, data: good.data },
          { digest: digestProto(wrongSize.hash, 301), data: wrongSize.data },
        ],
      });
      assert.deepEqual(res.responses.map((r) => r.status?.code ?? 0), [Code.INVALID_ARGUMENT, Code.OK, Code.INVALID_ARGUMENT]);
      assert.match(res.responses[0].status?.message ?? '', new RegExp(`hash to sha256 [0-9a-f]{64}, not ${wrongHash.hash}`));
      assert.match(res.responses[2].status?.message ?? '', /received 300 bytes, digest says 301/);
      assert.equal(await isMissing(good), false);
      assert.equal(await isMissing(wrongHash), true);
      assert.equal((await cas().findMissingBlobs({ blobDigests: [digestProto(wrongSize.hash, 301)] })).missingBlobDigests.length, 1);
    });

    it('rejects a ByteStream upload whose bytes hash differently and leaves nothing behind', async () => {
      const blob = randomBlob(100_000);
      const name = writeName(blob);
      const other = randomBlob(100_000).data;
      await expectStatus(
        bs().write([
          { resourceName: name, writeOffset: off(0), data: other.subarray(0, 50_000) },
          { writeOffset: off(50_000), data: other.subarray(50_000), finishWrite: true },
        ]),
        Code.INVALID_ARGUMENT,
        blob.hash,
        'hash to sha256',
      );
      assert.equal(await isMissing(blob), true);
      await expectStatus(bs().read(readName(blob)), Code.NOT_FOUND, blob.hash);
      await expectStatus(bs().queryWriteStatus({ resourceName: name }), Code.NOT_FOUND);
      // A correct upload under the same name starts afresh and succeeds.
      const res = await bs().write([{ resourceName: name, writeOffset: off(0), data: blob.data, finishWrite: true }]);
      assert.equal(num(res.committedSize), blob.size);
    });

    it('rejects a ByteStream upload that sends more bytes than the digest says', async () => {
      const blob = randomBlob(1000);
      await expectStatus(
        bs().write([{ resourceName: writeName(blob), writeOffset: off(0), data: Buffer.concat([blob.data, Buffer.from('extra')]), finishWrite: true }]),
        Code.INVALID_ARGUMENT,
        'received 1005 bytes, digest says 1000',
      );
      assert.equal(await isMissing(blob), true);
    });

    it('rejects a ByteStream upload that finishes short of the digest size', async () => {
      const blob = randomBlob(1000);
      await expectStatus(
        bs().write([{ resourceName: writeName(blob), writeOffset: off(0), data: blob.data.subarray(0, 999), finishWrite: true }]),
        Code.INVALID_ARGUMENT,
        'received 999 bytes, digest says 1000',
      );
      assert.equal(await isMissing(blob), true);
    });
  });

  describe('malformed resource names', () => {
    const h = some.hash;
    const readNames: [string, string][] = [
      ['', 'resource_name is empty'],
      ['nonsense', 'malformed resource_name "nonsense"'],
      [`blobs/${h}`, 'missing hash or size'],
      [`blobs/${h}/12abc`, 'size "12abc"'],
      [`blobs/${h}/-12`, 'size "-12"'],
      [`blobs/${h}/18446744073709551617`, 'too large'],
      [`blobs/${h}/12/extra`, 'after the size'],
      [`uploads/u1/blobs/${h}/12`, 'reserved word'],
      [`compressed-blobs/snappy/${h}/12`, 'compressor "snappy" is not supported'],
    ];
    for (const [name, mention] of readNames) {
      it(`rejects Read of "${name.replace(h, '{hash}')}" with INVALID_ARGUMENT`, async () => {
        await expectStatus(bs().read(name), Code.INVALID_ARGUMENT, mention);
      });
    }

    const writeNames: [string, string][] = [
      [`blobs/${h}/12`, 'expected "{instance}/uploads/{uuid}/blobs/{hash}/{size}"'],
      ['uploads', 'expected "{instance}/uploads/{uuid}/blobs/{hash}/{size}"'],
      [`uploads/u1/${h}/12`, 'expected "blobs" after the upload id'],
      [`uploads/u1/blobs/${h}`, 'missing hash or size'],
      [`uploads/u1/blobs/${h}/x`, 'size "x"'],
    ];
    for (const [name, mention] of writeNames) {
      it(`rejects Write and QueryWriteStatus of "${name.replace(h, '{hash}')}" with INVALID_ARGUMENT`, async () => {
        await expectStatus(bs().write([{ resourceName: name, writeOffset: off(0), data: some.data, finishWrite: true }]), Code.INVALID_ARGUMENT, mention);
        await expectStatus(bs().queryWriteStatus({ resourceName: name }), Code.INVALID_ARGUMENT, mention);
      });
    }

    it('accepts optional metadata after the size in an upload name', async () => {
      const blob = randomBlob(10);
      const res = await bs().write([{ resourceName: `${writeName(blob)}/some/metadata`, writeOffset: off(0), data: blob.data, finishWrite: true }]);
      assert.equal(num(res.committedSize), blob.size);
    });

    it('rejects uploads whose bytes are not the zstd they claim to be', async () => {
      const fresh = randomBlob(100); // not stored yet: a stored blob would finish a compressed upload early
      const res = await cas().batchUpdateBlobs({ requests: [{ digest: fresh.digest, data: fresh.data, compressor: 1 }] });
      assert.equal(res.responses[0].status?.code, Code.INVALID_ARGUMENT);
      assert.match(res.responses[0].status?.message ?? '', /requests\[0\].*zstd stream is corrupt/);
      const name = `uploads/u2/compressed-blobs/zstd/${fresh.hash}/${fresh.size}`;
      await expectStatus(bs().write([{ resourceName: name, writeOffset: off(0), data: fresh.data, finishWrite: true }]), Code.INVALID_ARGUMENT, 'zstd stream is corrupt');
    });

    it('rejects a Write stream without any request', async () => {
      await expectStatus(bs().write([]), Code.INVALID_ARGUMENT, 'without any request');
    });
  });

  describe('batch size limits', () => {
    it('rejects a BatchUpdateBlobs over max_batch_total_size_bytes as a whole, naming the limit', async () => {
      const a = randomBlob(MAX_BATCH / 2);
      const b = randomBlob(MAX_BATCH / 2 + 1);
      await expectStatus(
        cas().batchUpdateBlobs({ requests: [a, b].map((x) => ({ digest: x.digest, data: x.data })) }),
        Code.INVALID_ARGUMENT,
        `max_batch_total_size_bytes (${MAX_BATCH})`,
        `${MAX_BATCH + 1} bytes`,
      );
      assert.equal(await isMissing(a), true, 'nothing of a rejected batch is stored');
    });

    it('accepts a batch of exactly max_batch_total_size_bytes', async () => {
      const a = randomBlob(MAX_BATCH / 2);
      const b = randomBlob(MAX_BATCH / 2);
      const res = await cas().batchUpdateBlobs({ requests: [a, b].map((x) => ({ digest: x.digest, data: x.data })) });
      assert.deepEqual(res.responses.map((r) => r.status?.code ?? 0), [0, 0]);
    });

    it('rejects a BatchReadBlobs whose digests add up to more than the limit', async () => {
      const a = randomBlob(MAX_BATCH / 2);
      const b = randomBlob(MAX_BATCH / 2);
      await cas().batchUpdateBlobs({ requests: [a, b].map((x) => ({ digest: x.digest, data: x.data })) });
      await expectStatus(cas().batchReadBlobs({ digests: [a.digest, b.digest, some.digest] }), Code.INVALID_ARGUMENT, 'BatchReadBlobs', 'max_batch_total_size_bytes');
    });
  });

  describe('reads out of range or of missing blobs', () => {
    const blob = randomBlob(1000);
    before(() => bs().write([{ resourceName: writeName(blob), writeOffset: off(0), data: blob.data, finishWrite: true }]));

    it('answers read_offset past the end with OUT_OF_RANGE naming offset and size', async () => {
      await expectStatus(bs().read(readName(blob), 1001), Code.OUT_OF_RANGE, 'read_offset 1001', 'size 1000');
    });

    it('answers a negative read_offset or read_limit with OUT_OF_RANGE', async () => {
      await expectStatus(bs().readResponses({ resourceName: readName(blob), readOffset: off(-1) }), Code.OUT_OF_RANGE, 'read_offset -1');
      await expectStatus(bs().readResponses({ resourceName: readName(blob), readLimit: off(-1) }), Code.OUT_OF_RANGE, 'read_limit -1');
    });

    it('answers a Read of a missing blob with NOT_FOUND naming it', async () => {
      const missing = randomBlob(10);
      await expectStatus(bs().read(readName(missing)), Code.NOT_FOUND, missing.hash);
    });

    it('answers a Read of a known hash under the wrong size with NOT_FOUND', async () => {
      await expectStatus(bs().read(`blobs/${blob.hash}/999`), Code.NOT_FOUND, `${blob.hash}/999`);
    });
  });

  describe('the empty blob', () => {
    const empty = blobOf('');

    it('is always present and readable through every API without being uploaded', async () => {
      assert.equal(empty.hash, EMPTY_HASH);
      assert.deepEqual((await cas().findMissingBlobs({ blobDigests: [empty.digest] })).missingBlobDigests, []);
      const batch = await cas().batchReadBlobs({ digests: [empty.digest] });
      assert.equal(batch.responses[0].status?.code ?? 0, Code.OK);
      assert.equal(bytes(batch.responses[0].data).byteLength, 0);
      assert.equal((await bs().read(readName(empty))).byteLength, 0);
      const qs = await bs().queryWriteStatus({ resourceName: writeName(empty) });
      assert.deepEqual([num(qs.committedSize), qs.complete], [0, true]);
    });

    it('accepts an upload of the empty blob by batch and by ByteStream', async () => {
      const batch = await cas().batchUpdateBlobs({ requests: [{ digest: empty.digest, data: Buffer.alloc(0) }] });
      assert.equal(batch.responses[0].status?.code ?? 0, Code.OK);
      const res = await bs().write([{ resourceName: writeName(empty), writeOffset: off(0), finishWrite: true }]);
      assert.equal(num(res.committedSize), 0);
    });

    it('is OUT_OF_RANGE for read_offset 1', async () => {
      await expectStatus(bs().read(readName(empty), 1), Code.OUT_OF_RANGE, 'read_offset 1');
    });

    it('is not confused with another size under the empty hash', async () => {
      await expectStatus(bs().read(`blobs/${EMPTY_HASH}/5`), Code.NOT_FOUND);
      const res = await cas().batchUpdateBlobs({ requests: [{ digest: digestProto(EMPTY_HASH, 0), data: Buffer.from('not empty') }] });
      assert.equal(res.responses[0].status?.code, Code.INVALID_ARGUMENT);
    });
  });
});
