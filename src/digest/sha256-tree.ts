import { hash as oneShot } from 'node:crypto';

/**
 * SHA256TREE (REAPI DigestFunction 8), as remote_execution.proto defines it: blobs of up to 1024 bytes hash as plain
 * SHA-256; a larger blob splits into a left part of 2^k bytes and a right part of 1..2^k bytes, each hashed the same
 * way, and the parent is ONE SHA-256 compression of Hash(left) || Hash(right) started from a different IV (the square
 * roots of the primes 23..53), without the Davies–Meyer feed-forward. Leaves go through OpenSSL; the parents (one
 * per KiB) are the compression function below, which node's crypto does not expose.
 */

const CHUNK = 1024;

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** The parents' initial state: fractional parts of the square roots of the 9th to 16th primes. */
const PARENT_IV = new Uint32Array([0xcbbb9d5d, 0x629a292a, 0x9159015a, 0x152fecd8, 0x67332667, 0x8eb44a87, 0xdb0c2e0d, 0x47b5481d]);

const w = new Uint32Array(64);

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** A chaining value: the 8 big-endian words of a 32-byte hash. */
type Words = Uint32Array;

function wordsOf(hash: Buffer): Words {
  const out = new Uint32Array(8);
  for (let i = 0; i < 8; i++) out[i] = hash.readUInt32BE(i * 4);
  return out;
}

/** One SHA-256 block-cipher call over left || right from PARENT_IV, written into `out` (may be `right`). */
function compressParent(left: Words, right: Words, out: Words): void {
  w.set(left, 0);
  w.set(right, 8);
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15];
    const b = w[i - 2];
    w[i] = w[i - 16] + (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + w[i - 7] + (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10));
  }
  let a = PARENT_IV[0];
  let b = PARENT_IV[1];
  let c = PARENT_IV[2];
  let d = PARENT_IV[3];
  let e = PARENT_IV[4];
  let f = PARENT_IV[5];
  let g = PARENT_IV[6];
  let h = PARENT_IV[7];
  for (let i = 0; i < 64; i++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = a;
  out[1] = b;
  out[2] = c;
  out[3] = d;
  out[4] = e;
  out[5] = f;
  out[6] = g;
  out[7] = h;
}

const leaf = (data: Uint8Array): Buffer => oneShot('sha256', data, 'buffer') as unknown as Buffer;

/**
 * Streaming SHA256TREE. Chunks of 1024 bytes are hashed as they fill; a full chunk is only taken as a leaf once more
 * data follows (the last chunk of a blob of up to 1024 bytes is the whole blob, hashed plainly). The stack holds the
 * roots of complete subtrees, largest first — `chunks` counts finished leaves, and each trailing 1 bit of it is a
 * pair of equal subtrees to merge — so a blob of n chunks costs n leaf hashes and n - 1 compressions.
 */
export class Sha256TreeHasher {
  private readonly chunk = Buffer.allocUnsafe(CHUNK);
  private filled = 0;
  private chunks = 0;
  private readonly stack: Words[] = [];

  update(data: Uint8Array): this {
    let p = 0;
    while (p < data.byteLength) {
      if (this.filled === CHUNK) {
        this.push(wordsOf(leaf(this.chunk)));
        this.filled = 0;
      }
      // Whole chunks straight from the input when more input follows them (no copy).
      if (this.filled === 0) {
        while (data.byteLength - p > CHUNK) {
          this.push(wordsOf(leaf(data.subarray(p, p + CHUNK))));
          p += CHUNK;
        }
      }
      const n = Math.min(CHUNK - this.filled, data.byteLength - p);
      this.chunk.set(data.subarray(p, p + n), this.filled);
      this.filled += n;
      p += n;
    }
    return this;
  }

  digest(encoding: 'hex'): string {
    const last = leaf(this.chunk.subarray(0, this.filled));
    if (this.stack.length === 0) return last.toString(encoding);
    const cv = wordsOf(last);
    for (let i = this.stack.length - 1; i >= 0; i--) compressParent(this.stack[i], cv, cv);
    const out = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) out.writeUInt32BE(cv[i], i * 4);
    return out.toString(encoding);
  }

  private push(cv: Words): void {
    for (let n = this.chunks; n & 1; n >>>= 1) compressParent(this.stack.pop()!, cv, cv);
    this.stack.push(cv);
    this.chunks++;
  }
}

export function sha256TreeHex(data: Uint8Array): string {
  return data.byteLength <= CHUNK ? oneShot('sha256', data, 'hex') : new Sha256TreeHasher().update(data).digest('hex');
}
