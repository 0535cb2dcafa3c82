import { createHash, Hash } from 'node:crypto';
import { re } from '../proto';

/** A digest function the server can compute natively; `id` is the REAPI DigestFunction.Value. */
export interface DigestFunction {
  readonly name: string;
  readonly id: number;
  readonly hexLength: number;
  readonly emptyHash: string;
  createHash(): Hash;
}

function nodeDigestFunction(name: string, algorithm: string, id: number): DigestFunction {
  const emptyHash = createHash(algorithm).digest('hex');
  return { name, id, hexLength: emptyHash.length, emptyHash, createHash: () => createHash(algorithm) };
}

export const SHA256 = nodeDigestFunction('sha256', 'sha256', re.DigestFunction.Value.SHA256);
export const SHA1 = nodeDigestFunction('sha1', 'sha1', re.DigestFunction.Value.SHA1);

const BY_NAME = new Map([SHA256, SHA1].map((f) => [f.name, f]));

export function digestFunctionByName(name: string): DigestFunction {
  const f = BY_NAME.get(name.toLowerCase());
  if (!f) throw new Error(`unsupported digest function "${name}" (supported: ${[...BY_NAME.keys()].join(', ')})`);
  return f;
}
