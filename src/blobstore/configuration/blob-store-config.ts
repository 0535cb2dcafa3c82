import * as path from 'node:path';
import { ConfigError, expectDuration, expectInteger, expectObject, expectOneOf, expectSize, expectString, optional } from '../../config/config-reader';
import { parseS3BlobStoreConfig, parseS3ConnectionConfig, S3BlobStoreConfig, S3ConnectionConfig } from './s3-config';

/** The storage tree as configured: it mirrors the object graph one-to-one. */
export type BlobStoreConfig =
  | { filesystem: { path: string; maxBytes: number; maxEntries?: number } }
  | { memory: { maxBytes: number; maxEntries?: number } }
  | { verifying: BlobStoreConfig }
  | { existenceCaching: { backend: BlobStoreConfig; maxEntries: number; ttlMs: number } }
  | { s3: S3BlobStoreConfig }
  | { readCaching: { fast: BlobStoreConfig; slow: BlobStoreConfig } };

export type ActionCacheConfig = { filesystem: { path: string; maxBytes: number; maxEntries?: number } } | { memory: { maxBytes: number; maxEntries?: number } } | { s3: S3ConnectionConfig };

const BLOB_STORE_KINDS = ['filesystem', 'memory', 'verifying', 'existenceCaching', 's3', 'readCaching'] as const;

export function parseBlobStoreConfig(v: unknown, at: string, baseDir: string): BlobStoreConfig {
  const [kind, body] = expectOneOf(v, at, BLOB_STORE_KINDS);
  const here = `${at}.${kind}`;
  switch (kind) {
    case 'filesystem': {
      const o = expectObject(body, here, ['path', 'maxBytes', 'maxEntries']);
      if (o.path === undefined || o.maxBytes === undefined) throw new ConfigError(`${here}: "path" and "maxBytes" are required`);
      return { filesystem: { path: path.resolve(baseDir, expectString(o.path, `${here}.path`)), maxBytes: expectSize(o.maxBytes, `${here}.maxBytes`), ...maxEntries(o, here) } };
    }
    case 'memory': {
      const o = expectObject(body, here, ['maxBytes', 'maxEntries']);
      if (o.maxBytes === undefined) throw new ConfigError(`${here}: "maxBytes" is required`);
      return { memory: { maxBytes: expectSize(o.maxBytes, `${here}.maxBytes`), ...maxEntries(o, here) } };
    }
    case 'verifying':
      return { verifying: parseBlobStoreConfig(body, here, baseDir) };
    case 'existenceCaching': {
      const o = expectObject(body, here, ['backend', 'maxEntries', 'ttl']);
      if (o.backend === undefined) throw new ConfigError(`${here}: "backend" is required`);
      return {
        existenceCaching: {
          backend: parseBlobStoreConfig(o.backend, `${here}.backend`, baseDir),
          maxEntries: optional(o, 'maxEntries', here, (x, a) => expectInteger(x, a, 1), 1_000_000),
          // A ttl of 0 would mean "cache forever" to lru-cache: a blob evicted from the backend would be reported present.
          ttlMs: optional(o, 'ttl', here, (x, a) => atLeast(expectDuration(x, a), 1, a, 'a duration of at least 1ms'), 60_000),
        },
      };
    }
    case 's3':
      return { s3: parseS3BlobStoreConfig(body, here) };
    case 'readCaching': {
      const o = expectObject(body, here, ['fast', 'slow']);
      if (o.fast === undefined || o.slow === undefined) throw new ConfigError(`${here}: "fast" and "slow" are required`);
      return { readCaching: { fast: parseBlobStoreConfig(o.fast, `${here}.fast`, baseDir), slow: parseBlobStoreConfig(o.slow, `${here}.slow`, baseDir) } };
    }
  }
  throw new ConfigError(`${at}: unknown blob store "${kind}"`);
}

export function parseActionCacheConfig(v: unknown, at: string, baseDir: string): ActionCacheConfig {
  const [kind, body] = expectOneOf(v, at, ['filesystem', 'memory', 's3']);
  const here = `${at}.${kind}`;
  if (kind === 's3') return { s3: parseS3ConnectionConfig(body, here) };
  if (kind === 'filesystem') {
    const o = expectObject(body, here, ['path', 'maxBytes', 'maxEntries']);
    return { filesystem: { path: path.resolve(baseDir, expectString(o.path, `${here}.path`)), maxBytes: optional(o, 'maxBytes', here, expectSize, 1024 ** 3), ...maxEntries(o, here) } };
  }
  const o = expectObject(body, here, ['maxBytes', 'maxEntries']);
  return { memory: { maxBytes: optional(o, 'maxBytes', here, expectSize, 256 * 1024 * 1024), ...maxEntries(o, here) } };
}

/** A filesystem or memory store's optional bound on entries (absent: the store's default). */
function maxEntries(o: Record<string, unknown>, here: string): { maxEntries?: number } {
  return o.maxEntries === undefined ? {} : { maxEntries: expectInteger(o.maxEntries, `${here}.maxEntries`, 1) };
}

function atLeast(n: number, min: number, at: string, what: string): number {
  if (n < min) throw new ConfigError(`${at}: expected ${what}, got ${n}`);
  return n;
}
