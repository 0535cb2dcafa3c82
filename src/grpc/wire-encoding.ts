import { Digest } from '../digest/digest';

/** Hand encoding of the protobuf wire format for responses built straight into a gRPC frame (see FramedMessage). */

/** Bytes of a varint of a non-negative safe integer. */
export function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/** Writes a varint at `at`; returns the position after it. */
export function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 128) {
    buf[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** Bytes of an encoded REAPI Digest message of a validated Digest (its hash is ASCII hex: length = bytes). */
export function digestMessageBytes(d: Digest): number {
  return 1 + varintBytes(d.hash.length) + d.hash.length + (d.size !== 0 ? 1 + varintBytes(d.size) : 0);
}

/** Writes `d` as a length-delimited field `tag` (tag byte, length, Digest message); returns the position after it. */
export function writeDigestField(buf: Buffer, at: number, tag: number, d: Digest): number {
  buf[at++] = tag;
  at = writeVarint(buf, at, digestMessageBytes(d));
  buf[at++] = 0x0a;
  at = writeVarint(buf, at, d.hash.length);
  at += buf.write(d.hash, at, 'latin1');
  if (d.size !== 0) {
    buf[at++] = 0x10;
    at = writeVarint(buf, at, d.size);
  }
  return at;
}

/** Bytes of a length-delimited field holding `n` bytes (tag of field < 16, length, payload). */
export function fieldBytes(n: number): number {
  return 1 + varintBytes(n) + n;
}
