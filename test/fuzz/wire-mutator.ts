/** A small seeded PRNG (mulberry32): a fuzz run is reproducible from its seed. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.next() * 4294967296;
    return Buffer.from(words.buffer, 0, n);
  }

  /** Mostly short, sometimes a few KiB, rarely 64 KiB. */
  length(): number {
    const r = this.next();
    return r < 0.7 ? this.int(64) : r < 0.97 ? this.int(4096) : this.int(65536);
  }
}

/** One field of a protobuf message on the wire: varint (0), fixed64 (1), length-delimited (2) or fixed32 (5). */
interface WireField {
  no: number;
  type: 0 | 1 | 2 | 5;
  value: bigint | Buffer;
}

const U64 = (1n << 64n) - 1n;
/** Varints that trip int64/uint32/bool/enum handling: 0, -1, int64 and int32 limits, sizes past 2^53. */
const EDGE_VARINTS = [0n, 1n, 2n, 127n, 128n, (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 53n, (1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, U64, U64 - 4n];

const HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Strings that trip path, name and number parsing. */
const EDGE_STRINGS = [
  '', '/', '//', '.', '..', '../../etc/passwd', 'blobs', 'uploads', `blobs/${HASH}/0`, `uploads/u/blobs/${HASH}/0`,
  `blobs/${HASH}/-1`, `blobs/${HASH}/18446744073709551617`, `blobs/${HASH.toUpperCase()}/0`, `compressed-blobs/zstd/${HASH}/0`,
  `blobs/blake3/${HASH}/0`, `x/uploads//blobs/${HASH}/0/extra/meta`, 'operations/', 'operations/../../x', HASH, HASH.slice(1),
  'a'.repeat(10_000), '\u0000', '\uffff\ud800', 'é/ü', '%2e%2e', 'instance/blobs/x', '*', '-1', '1e309', 'NaN', ' ',
];

function readVarint(b: Buffer, pos: number): [bigint, number] | undefined {
  let v = 0n;
  for (let shift = 0n, i = pos; i < b.length && shift < 70n; i++, shift += 7n) {
    v |= BigInt(b[i] & 0x7f) << shift;
    if ((b[i] & 0x80) === 0) return [v & U64, i + 1];
  }
  return undefined;
}

function writeVarint(v: bigint): Buffer {
  const out: number[] = [];
  let x = v & U64;
  do {
    const byte = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? byte | 0x80 : byte);
  } while (x > 0n);
  return Buffer.from(out);
}

/** Parses a buffer as protobuf fields; undefined when it is not a well-formed message. */
export function parseWire(b: Buffer): WireField[] | undefined {
  const fields: WireField[] = [];
  let pos = 0;
  while (pos < b.length) {
    const tag = readVarint(b, pos);
    if (!tag) return undefined;
    const no = Number(tag[0] >> 3n);
    const type = Number(tag[0] & 7n);
    pos = tag[1];
    if (no === 0) return undefined;
    if (type === 0) {
      const v = readVarint(b, pos);
      if (!v) return undefined;
      fields.push({ no, type, value: v[0] });
      pos = v[1];
    } else if (type === 1 || type === 5) {
      const n = type === 1 ? 8 : 4;
      if (pos + n > b.length) return undefined;
      fields.push({ no, type, value: b.subarray(pos, pos + n) });
      pos += n;
    } else if (type === 2) {
      const len = readVarint(b, pos);
      if (!len || len[1] + Number(len[0]) > b.length) return undefined;
      fields.push({ no, type, value: b.subarray(len[1], len[1] + Number(len[0])) });
      pos = len[1] + Number(len[0]);
    } else return undefined;
  }
  return fields;
}

export function encodeWire(fields: WireField[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    parts.push(writeVarint((BigInt(f.no) << 3n) | BigInt(f.type)));
    if (f.type === 0) parts.push(writeVarint(f.value as bigint));
    else if (f.type === 2) parts.push(writeVarint(BigInt((f.value as Buffer).length)), f.value as Buffer);
    else parts.push(f.value as Buffer);
  }
  return Buffer.concat(parts);
}

/**
 * Changes one field of a well-formed message: a varint to an edge value, a string/bytes/sub-message to an edge string,
 * random bytes, or (recursively) a mutated sub-message; or drops, repeats or adds a field.
 */
function mutateStructure(rng: Rng, fields: WireField[], depth = 0): WireField[] {
  const out = fields.slice();
  const r = rng.int(10);
  if (out.length === 0 || r === 0) {
    const type = rng.pick([0, 2, 2, 1, 5] as const);
    const value = type === 0 ? rng.pick(EDGE_VARINTS) : type === 2 ? Buffer.from(rng.pick(EDGE_STRINGS)) : rng.bytes(type === 1 ? 8 : 4);
    out.splice(rng.int(out.length + 1), 0, { no: 1 + rng.int(rng.chance(0.8) ? 16 : 2000), type, value });
    return out;
  }
  const i = rng.int(out.length);
  if (r === 1) out.splice(i, 1);
  else if (r === 2) out.splice(i, 0, out[i]);
  else {
    const f = out[i];
    if (f.type === 0) out[i] = { ...f, value: rng.chance(0.8) ? rng.pick(EDGE_VARINTS) : BigInt(rng.int(1 << 30)) };
    else if (f.type === 2) {
      const sub = depth < 4 && rng.chance(0.7) ? parseWire(f.value as Buffer) : undefined;
      const value = sub
        ? encodeWire(mutateStructure(rng, sub, depth + 1))
        : rng.chance(0.7) ? Buffer.from(rng.pick(EDGE_STRINGS)) : rng.bytes(rng.length());
      out[i] = { ...f, value };
    } else out[i] = { ...f, value: rng.bytes(f.type === 1 ? 8 : 4) };
  }
  return out;
}

function mutateBytes(rng: Rng, input: Buffer, corpus: readonly Buffer[]): Buffer {
  const b = Buffer.from(input);
  const at = () => rng.int(b.length + 1);
  switch (rng.int(8)) {
    case 0:
      if (b.length) b[rng.int(b.length)] ^= 1 << rng.int(8);
      return b;
    case 1:
      if (b.length) b[rng.int(b.length)] = rng.pick([0, 0x7f, 0x80, 0xff, rng.int(256)]);
      return b;
    case 2: {
      const i = at();
      return Buffer.concat([b.subarray(0, i), rng.bytes(1 + rng.int(32)), b.subarray(i)]);
    }
    case 3: {
      const i = at();
      return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + rng.int(16))]);
    }
    case 4:
      return b.subarray(0, at());
    case 5: {
      const i = at();
      const j = i + rng.int(b.length - i + 1);
      return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
    }
    case 6: {
      const other = rng.pick(corpus);
      return Buffer.concat([b.subarray(0, at()), other.subarray(rng.int(other.length + 1))]);
    }
    default:
      return Buffer.concat([b, rng.bytes(1 + rng.int(16))]);
  }
}

/** One to three structure-aware or byte-level mutations of a seed. */
export function mutate(rng: Rng, seed: Buffer, corpus: readonly Buffer[]): Buffer {
  let b = seed;
  for (let n = 1 + rng.int(3); n > 0; n--) {
    // Mostly structure-aware, so most calls get past the decoder into the validators and handlers.
    const fields = rng.chance(0.85) ? parseWire(b) : undefined;
    b = fields ? encodeWire(mutateStructure(rng, fields)) : mutateBytes(rng, b, corpus);
  }
  return b;
}
