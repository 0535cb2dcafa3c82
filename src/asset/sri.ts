import { DigestFunction, SHA256, SHA384, SHA512 } from '../digest/digest-function';
import { invalidArgument } from '../grpc/status-error';

/** One Subresource Integrity checksum ("sha256-<base64>"), as Bazel sends in the `checksum.sri` qualifier. */
export interface Sri {
  fn: DigestFunction;
  hex: string;
}

const ALGORITHMS: Record<string, DigestFunction> = { sha256: SHA256, sha384: SHA384, sha512: SHA512 };

/** The first checksum of a (space-separated) SRI string whose algorithm is known; INVALID_ARGUMENT otherwise. */
export function parseSri(value: string): Sri {
  for (const token of value.trim().split(/\s+/)) {
    const m = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token);
    if (!m) continue;
    const fn = ALGORITHMS[m[1]];
    const hex = Buffer.from(m[2], 'base64').toString('hex');
    if (hex.length !== fn.hexLength) throw invalidArgument(`checksum.sri "${token}": a ${m[1]} checksum has ${fn.hexLength / 2} bytes, this one ${hex.length / 2}`);
    return { fn, hex };
  }
  throw invalidArgument(`checksum.sri "${value}" names no supported checksum (sha256-, sha384- or sha512-<base64>)`);
}
