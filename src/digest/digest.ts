import Long from 'long';
import { re, REv2 } from '../proto';
import { invalidArgument } from '../grpc/status-error';
import { DigestFunction } from './digest-function';

/** Lowercase hex of `length` characters; a loop over char codes (FindMissing checks 10k hashes per call). */
function isLowerHex(s: string, length: number): boolean {
  if (s.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A Digest message's fields. */
export interface DigestFields {
  hash?: string | null;
  sizeBytes?: number | Long | string | null;
}

/** A validated content digest: parse protos into this once at the RPC boundary; inner code never sees raw protos. */
export class Digest {
  private cachedKey: string | undefined;

  private constructor(
    readonly hash: string,
    readonly size: number,
    readonly fn: DigestFunction,
  ) {}

  /** Validates hash and size; `what` names the field in error messages. */
  static of(hash: string, size: number | Long | string, fn: DigestFunction, what = 'digest'): Digest {
    if (typeof hash !== 'string' || !isLowerHex(hash, fn.hexLength)) {
      throw invalidArgument(`${what}: hash "${truncate(hash)}" is not ${fn.hexLength} lowercase hex characters (${fn.name})`);
    }
    const n = toSafeSize(size, what);
    return new Digest(hash, n, fn);
  }

  /** From a decoded Digest message (protobufjs's, or a hand decoder's with a plain number size). */
  static fromProto(d: DigestFields | null | undefined, fn: DigestFunction, what = 'digest'): Digest {
    if (!d) throw invalidArgument(`${what} is missing`);
    return Digest.of(d.hash ?? '', d.sizeBytes ?? 0, fn, what);
  }

  /** Digest of bytes already in memory. */
  static compute(data: Uint8Array, fn: DigestFunction): Digest {
    return new Digest(fn.hashHex(data), data.byteLength, fn);
  }

  static empty(fn: DigestFunction): Digest {
    return new Digest(fn.emptyHash, 0, fn);
  }

  get isEmpty(): boolean {
    return this.size === 0 && this.hash === this.fn.emptyHash;
  }

  /** Unique within one digest function. */
  get key(): string {
    return (this.cachedKey ??= `${this.hash}-${this.size}`);
  }

  toProto(): REv2.Digest {
    return re.Digest.create({ hash: this.hash, sizeBytes: Long.fromNumber(this.size) });
  }

  /** `{hash}/{size}`, as in resource names and PreconditionFailure subjects. */
  toString(): string {
    return `${this.hash}/${this.size}`;
  }

  equals(other: Digest): boolean {
    return this.hash === other.hash && this.size === other.size;
  }
}

function toSafeSize(size: number | Long | string, what: string): number {
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) return size;
  // A decoded int64 below 2^53 (high word 0..0x1fffff): no Long arithmetic.
  if (typeof size === 'object' && size !== null && size.high >= 0 && size.high <= 0x1fffff) return size.high * 0x100000000 + (size.low >>> 0);
  // Long.fromString wraps around silently ("18446744073709551617" would become 1), so strings are checked as BigInts.
  if (typeof size === 'string') {
    if (!/^-?[0-9]+$/.test(size)) throw invalidArgument(`${what}: size_bytes "${truncate(size)}" is not a decimal integer`);
    const n = BigInt(size);
    if (n < 0n) throw invalidArgument(`${what}: size_bytes ${n} is negative`);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`${what}: size_bytes ${truncate(size)} is too large`);
    return Number(n);
  }
  const long = typeof size === 'number' ? Long.fromNumber(size) : Long.fromValue(size);
  if (long.isNegative()) throw invalidArgument(`${what}: size_bytes ${long.toString()} is negative`);
  if (long.greaterThan(Long.fromNumber(Number.MAX_SAFE_INTEGER))) throw invalidArgument(`${what}: size_bytes ${long.toString()} is too large`);
  return long.toNumber();
}

function truncate(s: string): string {
  return typeof s !== 'string' ? String(s) : s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
