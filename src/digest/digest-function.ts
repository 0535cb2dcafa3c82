import { createHash, hash as oneShot } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { re } from '../proto';
import { Sha256TreeHasher, sha256TreeHex } from './sha256-tree';

/** What streaming hashing needs; node's crypto.Hash and the BLAKE3 hasher both fit. */
export interface Hasher {
  update(data: Uint8Array): Hasher;
  digest(encoding: 'hex'): string;
}

/** A digest function the server can compute natively; `id` is the REAPI DigestFunction.Value. */
export interface DigestFunction {
  /** Lowercase enum name: config value and ByteStream resource-name segment. */
  readonly name: string;
  readonly id: number;
  readonly hexLength: number;
  readonly emptyHash: string;
  /**
   * REAPI lets clients omit the function for these (it is inferred from the hash length); the others (BLAKE3) must be
   * named in requests and in ByteStream resource names.
   */
  readonly inferredFromLength: boolean;
  createHash(): Hasher;
  /** Hash of bytes in memory, cheaper than createHash() for the many small blobs (Directory, Action, Command). */
  hashHex(data: Uint8Array): string;
}

const V = re.DigestFunction.Value;

function nodeDigestFunction(name: string, id: number): DigestFunction {
  const emptyHash = createHash(name).digest('hex');
  return { name, id, hexLength: emptyHash.length, emptyHash, inferredFromLength: true, createHash: () => createHash(name), hashHex: (data) => oneShot(name, data, 'hex') };
}

/**
 * BLAKE3 through @napi-rs/blake-hash (the Rust blake3 crate, SIMD). Each native call and each native hasher object
 * costs microseconds, which dominates for small blobs: one reused hasher serves one-shot hashes, and a streaming
 * hash keeps (copies of) its first 64 KiB in JS and touches native code once at digest(); only larger inputs get a
 * native hasher of their own.
 */
/** The binding's typings take Buffer: view other byte arrays without copying. */
function asNodeBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function blake3(): DigestFunction {
  const shared = new Blake3Hasher();
  const hashHex = (data: Uint8Array) => {
    shared.reset();
    return shared.update(asNodeBuffer(data)).digest('hex');
  };
  const SMALL = 64 * 1024;
  const createHash = (): Hasher => {
    let native: Blake3Hasher | undefined;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const h: Hasher = {
      update(data) {
        if (native) native.update(asNodeBuffer(data));
        else if (pendingBytes + data.byteLength <= SMALL) {
          pending.push(Buffer.from(data)); // a copy: callers may reuse their buffer once write() returned
          pendingBytes += data.byteLength;
        } else {
          native = new Blake3Hasher();
          for (const p of pending) native.update(p);
          native.update(asNodeBuffer(data));
          pending = [];
        }
        return h;
      },
      digest: () => (native ? native.digest('hex') : hashHex(pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes))),
    };
    return h;
  };
  return { name: 'blake3', id: V.BLAKE3, hexLength: 64, emptyHash: hashHex(new Uint8Array(0)), inferredFromLength: false, createHash, hashHex };
}

export const SHA256 = nodeDigestFunction('sha256', V.SHA256);
export const SHA1 = nodeDigestFunction('sha1', V.SHA1);
export const SHA384 = nodeDigestFunction('sha384', V.SHA384);
export const SHA512 = nodeDigestFunction('sha512', V.SHA512);
export const BLAKE3 = blake3();
/** SHA-256 over a Merkle tree of 1 KiB chunks (REAPI 2.3); like BLAKE3 it must be named in requests. */
export const SHA256TREE: DigestFunction = {
  name: 'sha256tree',
  id: V.SHA256TREE,
  hexLength: 64,
  emptyHash: SHA256.emptyHash,
  inferredFromLength: false,
  createHash: () => new Sha256TreeHasher(),
  hashHex: sha256TreeHex,
};

/** Every function this server (and its workers) can hash with. */
export const DIGEST_FUNCTIONS: readonly DigestFunction[] = [SHA256, SHA1, SHA384, SHA512, BLAKE3, SHA256TREE];

const BY_NAME = new Map(DIGEST_FUNCTIONS.map((f) => [f.name, f]));
const BY_ID = new Map(DIGEST_FUNCTIONS.map((f) => [f.id, f]));

export function digestFunctionByName(name: string): DigestFunction {
  const f = BY_NAME.get(name.toLowerCase());
  if (!f) throw new Error(`unsupported digest function "${name}" (supported: ${[...BY_NAME.keys()].join(', ')})`);
  return f;
}

/** undefined for an id this server does not implement (including UNKNOWN = 0). */
export function digestFunctionById(id: number): DigestFunction | undefined {
  return BY_ID.get(id);
}

/** The lowercase REAPI enum name of an id ("blake3", as in resource names), or the number when the enum has none. */
export function digestFunctionLabel(id: number): string {
  return (V as unknown as Record<number, string>)[id]?.toLowerCase() ?? String(id);
}
