import { S3ConnectionOptions } from '../s3/s3-connection';
import { ConfigError, expectBoolean, expectDuration, expectObject, expectSize, expectString, optional } from '../../config/config-reader';

/** How to reach a bucket. Credentials may be left out here and come from the environment (never logged with the config). */
export interface S3ConnectionConfig {
  endpoint: string;
  bucket: string;
  /** Normalised to end with "/" (or empty). */
  prefix: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
  requestTimeoutMs: number;
}

export interface S3BlobStoreConfig extends S3ConnectionConfig {
  listRefreshMs: number;
  partSize: number;
  confirmMissing: boolean;
}

const CONNECTION_KEYS = ['endpoint', 'bucket', 'prefix', 'region', 'accessKey', 'secretKey', 'requestTimeout'];

export function parseS3ConnectionConfig(body: unknown, at: string, extraKeys: string[] = []): S3ConnectionConfig {
  const o = expectObject(body, at, [...CONNECTION_KEYS, ...extraKeys]);
  if (o.endpoint === undefined || o.bucket === undefined) throw new ConfigError(`${at}: "endpoint" (like "http://127.0.0.1:9000") and "bucket" are required`);
  const endpoint = expectString(o.endpoint, `${at}.endpoint`);
  if (!/^https?:\/\/[^/]+\/?$/.test(endpoint)) throw new ConfigError(`${at}.endpoint: expected "http://host:port" or "https://host", got ${JSON.stringify(endpoint)}`);
  const prefix = optional(o, 'prefix', at, expectString, '');
  const str = (k: string) => (o[k] === undefined ? undefined : expectString(o[k], `${at}.${k}`));
  return {
    endpoint,
    bucket: expectString(o.bucket, `${at}.bucket`),
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    region: str('region'),
    accessKey: str('accessKey'),
    secretKey: str('secretKey'),
    requestTimeoutMs: optional(o, 'requestTimeout', at, expectDuration, 30_000),
  };
}

export function parseS3BlobStoreConfig(body: unknown, at: string): S3BlobStoreConfig {
  const o = expectObject(body, at, [...CONNECTION_KEYS, 'listRefresh', 'partSize', 'confirmMissing']);
  const partSize = optional(o, 'partSize', at, expectSize, 16 * 1024 * 1024);
  if (partSize < 5 * 1024 * 1024) throw new ConfigError(`${at}.partSize: S3 requires parts of at least 5MiB, got ${partSize} bytes`);
  const listRefreshMs = optional(o, 'listRefresh', at, expectDuration, 60_000);
  if (listRefreshMs < 1000) throw new ConfigError(`${at}.listRefresh: expected at least "1s" (each refresh lists the whole prefix), got ${listRefreshMs} ms`);
  const confirmMissing = optional(o, 'confirmMissing', at, expectBoolean, false);
  return { ...parseS3ConnectionConfig(o, at, ['listRefresh', 'partSize', 'confirmMissing']), listRefreshMs, partSize, confirmMissing };
}

/** Fills credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when the config leaves them out. */
export function s3ConnectionOptions(c: S3ConnectionConfig, env: NodeJS.ProcessEnv, at: string): S3ConnectionOptions {
  const accessKey = c.accessKey ?? env.AWS_ACCESS_KEY_ID;
  const secretKey = c.secretKey ?? env.AWS_SECRET_ACCESS_KEY;
  if (!accessKey || !secretKey) {
    throw new ConfigError(`${at}: no S3 credentials for bucket "${c.bucket}": set "accessKey"/"secretKey" or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables`);
  }
  return { endpoint: c.endpoint, bucket: c.bucket, prefix: c.prefix, region: c.region, accessKey, secretKey, idleTimeoutMs: c.requestTimeoutMs };
}
