import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import Long from 'long';
import { putBlob } from '../../src/blobstore/blob-io';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { decodeFindMissingRequest, encodeFindMissingResponse } from '../../src/services/find-missing-codec';
import { readBatchFrame } from '../../src/services/batch-read-frame';
import { encode, re } from '../../src/proto';

const digestOf = (b: Buffer) => Digest.compute(b, SHA256);

describe('hand-written codecs of the hot cache RPCs', () => {
  it('decodes FindMissingBlobsRequest as protobufjs does, sizes up to 2^53 and unknown fields included', () => {
    const digests = [digestOf(Buffer.from('a')).toProto(), re.Digest.create({ hash: 'ab', sizeBytes: Long.fromNumber(0) }), re.Digest.create({ hash: 'x'.repeat(64), sizeBytes: Long.fromNumber(2 ** 48 + 7) })];
    const bytes = encode(re.FindMissingBlobsRequest, re.FindMissingBlobsRequest.create({ instanceName: 'main/ü', blobDigests: digests, digestFunction: re.DigestFunction.Value.BLAKE3 }));
    // An unknown varint field (9) and an unknown length-delimited field (10) are skipped.
    const withUnknown = Buffer.concat([bytes, Buffer.from([0x48, 0x05, 0x52, 0x02, 0x01, 0x02])]);
    const got = decodeFindMissingRequest(withUnknown);
    assert.equal(got.instanceName, 'main/ü');
    assert.equal(got.digestFunction, re.DigestFunction.Value.BLAKE3);
    assert.deepEqual(
      got.blobDigests.map((d) => [d.hash, Number(d.sizeBytes)]),
      digests.map((d) => [d.hash, Long.fromValue(d.sizeBytes).toNumber()]),
    );
  });

  it('leaves negative and huge sizes to protobufjs, so validation reports them as before', () => {
    const bytes = encode(re.FindMissingBlobsRequest, re.FindMissingBlobsRequest.create({ blobDigests: [re.Digest.create({ hash: 'a'.repeat(64), sizeBytes: Long.fromNumber(-1) }), re.Digest.create({ hash: 'b'.repeat(64), sizeBytes: Long.fromString('9007199254740993') })] }));
    const got = decodeFindMissingRequest(bytes);
    assert.throws(() => Digest.fromProto(got.blobDigests[0], SHA256, 'blob_digests[0]'), /blob_digests\[0\]: size_bytes -1 is negative/);
    assert.throws(() => Digest.fromProto(got.blobDigests[1], SHA256, 'blob_digests[1]'), /too large/);
  });

  it('rejects a truncated request like protobufjs', () => {
    const bytes = encode(re.FindMissingBlobsRequest, re.FindMissingBlobsRequest.create({ blobDigests: [digestOf(Buffer.from('a')).toProto()] }));
    assert.throws(() => decodeFindMissingRequest(bytes.subarray(0, bytes.byteLength - 3)));
  });

  it('encodes FindMissingBlobsResponse byte for byte as protobufjs does', () => {
    const missing = [digestOf(Buffer.from('x')), Digest.empty(SHA256), digestOf(randomBytes(300))];
    const frame = encodeFindMissingResponse(missing);
    assert.deepEqual(frame.message, encode(re.FindMissingBlobsResponse, re.FindMissingBlobsResponse.create({ missingBlobDigests: missing.map((d) => d.toProto()) })));
  });

  it('reads a batch into one encoded BatchReadBlobsResponse, or reports each entry when one is missing', async () => {
    const store = new MemoryBlobStore(1 << 20);
    const blobs = [randomBytes(4096), Buffer.alloc(0), randomBytes(200_000)];
    for (const b of blobs) await putBlob(store, digestOf(b), b);
    const r = await readBatchFrame(store, blobs.map(digestOf));
    assert.ok(r.frame);
    const decoded = re.BatchReadBlobsResponse.decode(r.frame.message);
    assert.deepEqual(
      decoded.responses.map((x) => [x.digest?.hash, Long.fromValue(x.digest?.sizeBytes ?? 0).toNumber(), Buffer.from(x.data ?? []).toString('hex'), x.status?.code ?? 0, x.compressor]),
      blobs.map((b) => [digestOf(b).hash, b.byteLength, b.toString('hex'), 0, 0]),
    );

    const absent = digestOf(Buffer.from('never stored'));
    const partial = await readBatchFrame(store, [digestOf(blobs[0]), absent]);
    assert.equal(partial.frame, undefined);
    if (partial.frame) return;
    assert.deepEqual(partial.data[0], blobs[0]);
    assert.equal(partial.data[1], undefined);
    assert.match(String(partial.errors[1]), /not found/);
  });
});
