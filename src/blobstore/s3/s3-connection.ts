import * as http from 'node:http';
import * as https from 'node:https';
import { Client } from 'minio';

/** Where and how to reach one bucket; `prefix` namespaces several instances (or deployments) in one bucket. */
export interface S3ConnectionOptions {
  /** `http://host:port` or `https://host`. */
  endpoint: string;
  bucket: string;
  prefix?: string;
  region?: string;
  accessKey: string;
  secretKey: string;
  /** A request whose socket stays silent this long is destroyed (and reported UNAVAILABLE); minio has no timeout of its own. */
  idleTimeoutMs?: number;
  /** Sockets kept per client; uploads of different blobs run in parallel up to this. */
  maxSockets?: number;
  /** Told about every request (HTTP method) and, once, its outcome: the response status or a network error (metrics). */
  onRequest?: S3RequestObserver;
}

export type S3RequestObserver = (method: string) => (outcome: number | 'network_error') => void;

/** A bucket plus a key prefix, with the client that reaches it. */
export interface S3Location {
  client: Client;
  bucket: string;
  prefix: string;
}

/**
 * Builds a path-style minio client. Retries are disabled on purpose: minio retries by re-sending the request body
 * (broken for streams) and logs to the console; callers get UNAVAILABLE instead and REAPI clients retry that.
 */
export function newS3Location(options: S3ConnectionOptions): S3Location {
  const url = new URL(options.endpoint);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`S3 endpoint ${options.endpoint} must start with http:// or https://`);
  const useSSL = url.protocol === 'https:';
  const base = useSSL ? https : http;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const request = ((opts: http.RequestOptions, cb?: (res: http.IncomingMessage) => void) => {
    const req = base.request({ ...opts, timeout: idleTimeoutMs }, cb);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no response from S3 for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
    const observed = options.onRequest?.(opts.method ?? 'GET');
    if (observed) {
      let told = false;
      const tell = (outcome: number | 'network_error') => {
        if (!told) observed(outcome);
        told = true;
      };
      req.once('response', (res: http.IncomingMessage) => tell(res.statusCode ?? 0));
      req.once('error', () => tell('network_error'));
    }
    return req;
  }) as typeof http.request;
  const client = new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL,
    pathStyle: true,
    region: options.region ?? 'us-east-1', // Set, so minio never spends a request looking the bucket's region up.
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    transport: { request },
    transportAgent: new base.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 }),
    retryOptions: { disableRetry: true },
  });
  return { client, bucket: options.bucket, prefix: options.prefix ?? '' };
}
