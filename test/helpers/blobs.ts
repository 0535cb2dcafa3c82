import { createHash, randomBytes } from 'node:crypto';
import Long from 'long';
import { re, REv2 } from '../../src/proto';

/** SHA-256 of zero bytes: the empty blob every REAPI server must treat as present. */
export const EMPTY_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface TestBlob {
  data: Buffer;
  /** The blob's Digest proto (sha256), ready to put in a request. */
  digest: REv2.Digest;
  hash: string;
  size: number;
}

/** A blob with the given bytes (a string is UTF-8 encoded). */
export function blobOf(content: string | Buffer): TestBlob {
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  const hash = createHash('sha256').update(data).digest('hex');
  return { data, hash, size: data.byteLength, digest: digestProto(hash, data.byteLength) };
}

/** `size` random bytes: distinct in every call, so tests never see each other's blobs. */
export function randomBlob(size: number): TestBlob {
  return blobOf(randomBytes(size));
}

export const emptyBlob = (): TestBlob => blobOf(Buffer.alloc(0));

/** A Digest proto with arbitrary (possibly invalid) contents, for bad-input tests. */
export function digestProto(hash: string, size: number): REv2.Digest {
  return re.Digest.create({ hash, sizeBytes: Long.fromNumber(size) });
}

/** `{instance}/blobs/{hash}/{size}` */
export function readName(blob: Pick<TestBlob, 'hash' | 'size'>, instance = ''): string {
  return `${instance ? `${instance}/` : ''}blobs/${blob.hash}/${blob.size}`;
}

let uploadCounter = 0;

/** `{instance}/uploads/{uuid}/blobs/{hash}/{size}` with a fresh upload id unless one is given. */
export function writeName(blob: Pick<TestBlob, 'hash' | 'size'>, instance = '', uploadId = `00000000-0000-4000-8000-${String(++uploadCounter).padStart(12, '0')}`): string {
  return `${instance ? `${instance}/` : ''}uploads/${uploadId}/blobs/${blob.hash}/${blob.size}`;
}

/** An int64 field (Long or number) as a number. */
export function num(v: Long | number | string | null | undefined): number {
  return v === null || v === undefined ? 0 : Long.fromValue(v).toNumber();
}

/** A Directory message as a blob (what GetTree and input roots are made of). */
export function directoryBlob(dir: REv2.Directory.$Properties): TestBlob & { directory: REv2.Directory } {
  const directory = re.Directory.create(dir);
  return { ...blobOf(Buffer.from(re.Directory.encode(directory).finish())), directory };
}

/** A `bytes` field (possibly unset) as a Buffer. */
export function bytes(v: Uint8Array | null | undefined): Buffer {
  return v ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.alloc(0);
}
