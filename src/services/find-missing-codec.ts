import { Digest, DigestFields } from '../digest/digest';
import { FramedMessage, GRPC_PREFIX_BYTES } from '../grpc/framed-message';
import { re } from '../proto';
import { digestMessageBytes, fieldBytes, writeDigestField } from '../grpc/wire-encoding';

/** What the FindMissingBlobs handler reads of its request. */
export interface FindMissingRequest {
  instanceName: string;
  digestFunction: number;
  blobDigests: DigestFields[];
}

/** Thrown inside the fast decoder for anything it leaves to protobufjs. */
const UNUSUAL = new Error('unusual encoding');

/**
 * Decodes a FindMissingBlobsRequest into plain `{ hash, sizeBytes }` objects, without protobufjs's message objects
 * and a Long per size (10k digests: most of the decode time and garbage). Anything out of the ordinary (a size of
 * 2^49 or more, a negative one, groups, a malformed message) is decoded by protobufjs instead, which reports errors
 * and values exactly as before.
 */
export function decodeFindMissingRequest(buf: Buffer): FindMissingRequest {
  try {
    return decodeFast(buf);
  } catch (err) {
    if (err !== UNUSUAL) throw err;
    return re.FindMissingBlobsRequest.decode(buf);
  }
}

function decodeFast(buf: Buffer): FindMissingRequest {
  const r = new WireReader(buf, 0, buf.byteLength);
  const out: FindMissingRequest = { instanceName: '', digestFunction: 0, blobDigests: [] };
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) out.instanceName = r.string();
    else if (field === 2 && wire === 2) {
      const len = r.varint();
      out.blobDigests.push(decodeDigest(buf, r.pos, r.advance(len)));
    } else if (field === 3 && wire === 0) out.digestFunction = r.varint();
    else r.skip(wire);
  }
  return out;
}

function decodeDigest(buf: Buffer, start: number, end: number): { hash: string; sizeBytes: number } {
  const r = new WireReader(buf, start, end);
  let hash = '';
  let sizeBytes = 0;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) hash = r.string();
    else if (tag === 0x10) sizeBytes = r.varint();
    else r.skip(tag & 7);
  }
  return { hash, sizeBytes };
}

/** Just enough of the protobuf wire format for the messages above; values up to 2^49 as plain numbers. */
class WireReader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw UNUSUAL;
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw UNUSUAL; // 2^49 or more, or negative: protobufjs decodes it as a Long
  }

  /** Moves past `len` bytes; returns the new position. */
  advance(len: number): number {
    if (this.pos + len > this.end) throw UNUSUAL;
    this.pos += len;
    return this.pos;
  }

  string(): string {
    const len = this.varint();
    const start = this.pos;
    return this.buf.toString('utf8', start, this.advance(len));
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.advance(this.varint());
    else if (wire === 5) this.advance(4);
    else throw UNUSUAL;
  }
}

/**
 * Encodes a FindMissingBlobsResponse (missing_blob_digests = 2) straight into one gRPC frame, from validated Digests
 * (lowercase hex hashes, safe integer sizes): no message object, no Long and no copy per digest.
 */
export function encodeFindMissingResponse(missing: Digest[]): FramedMessage {
  let total = GRPC_PREFIX_BYTES;
  for (const d of missing) total += fieldBytes(digestMessageBytes(d));
  const frame = Buffer.allocUnsafe(total);
  let at = GRPC_PREFIX_BYTES;
  for (const d of missing) at = writeDigestField(frame, at, 0x12, d);
  return new FramedMessage(frame);
}
