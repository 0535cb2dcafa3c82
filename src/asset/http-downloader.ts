import { createWriteStream, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { Code, StatusError } from '../grpc/status-error';

export interface DownloadOptions {
  /** Hosts (exact names, or "*.example.com") the server may download from; also checked on every redirect. */
  allowedHosts: string[];
  timeoutMs: number;
  maxBytes: number;
  /** Sent as User-Agent, so origins can tell the backend's fetches apart. */
  userAgent: string;
  tmpDir?: string;
}

export interface Downloaded {
  file: string;
  /** The content's digest with the function the CAS stores it under. */
  digest: Digest;
  /** Hex hash with the checksum's function, when one was asked for. */
  checksumHex?: string;
}

const MAX_REDIRECTS = 5;

/**
 * Downloads `url` to a temp file, hashing it on the way (for the CAS and for the checksum). Errors carry the status
 * FetchBlob reports: PERMISSION_DENIED for a host off the allow-list, NOT_FOUND for 404, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED past maxBytes, UNAVAILABLE for anything else from the origin.
 */
export async function download(url: string, fn: DigestFunction, checksumFn: DigestFunction | undefined, o: DownloadOptions): Promise<Downloaded> {
  const signal = AbortSignal.timeout(o.timeoutMs);
  let current = url;
  for (let hop = 0; ; hop++) {
    checkAllowed(current, o.allowedHosts);
    let res: Response;
    try {
      res = await fetch(current, { redirect: 'manual', signal, headers: { 'user-agent': o.userAgent } });
    } catch (err) {
      if (signal.aborted) throw new StatusError(Code.DEADLINE_EXCEEDED, `downloading ${url}: no answer within ${o.timeoutMs} ms`);
      throw new StatusError(Code.UNAVAILABLE, `downloading ${current}: ${(err as Error).message}`);
    }
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      if (hop >= MAX_REDIRECTS) throw new StatusError(Code.UNAVAILABLE, `downloading ${url}: more than ${MAX_REDIRECTS} redirects`);
      current = new URL(res.headers.get('location')!, current).toString();
      continue;
    }
    if (res.status === 404 || res.status === 410) throw new StatusError(Code.NOT_FOUND, `${current} answered ${res.status}`);
    if (res.status === 401 || res.status === 403) throw new StatusError(Code.PERMISSION_DENIED, `${current} answered ${res.status}`);
    if (!res.ok || !res.body) throw new StatusError(Code.UNAVAILABLE, `${current} answered ${res.status}`);
    return save(res, url, fn, checksumFn, o, signal);
  }
}

async function save(res: Response, url: string, fn: DigestFunction, checksumFn: DigestFunction | undefined, o: DownloadOptions, signal: AbortSignal): Promise<Downloaded> {
  const file = path.join(o.tmpDir ?? os.tmpdir(), `rustexec-asset-${randomBytes(8).toString('hex')}`);
  const hash = fn.createHash();
  const check = checksumFn && checksumFn !== fn ? checksumFn.createHash() : undefined;
  let size = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    size += chunk.byteLength;
    if (size > o.maxBytes) body.destroy(new StatusError(Code.RESOURCE_EXHAUSTED, `downloading ${url}: more than ${o.maxBytes} bytes`));
    hash.update(chunk);
    check?.update(chunk);
  });
  try {
    await pipeline(body, createWriteStream(file, { flags: 'wx' }));
  } catch (err) {
    await fsp.rm(file, { force: true });
    if (err instanceof StatusError) throw err;
    if (signal.aborted) throw new StatusError(Code.DEADLINE_EXCEEDED, `downloading ${url}: not complete within ${o.timeoutMs} ms`);
    throw new StatusError(Code.UNAVAILABLE, `downloading ${url}: ${(err as Error).message}`);
  }
  const hex = hash.digest('hex');
  return { file, digest: Digest.of(hex, size, fn), checksumHex: checksumFn ? (check ? check.digest('hex') : hex) : undefined };
}

function checkAllowed(url: string, allowed: string[]): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StatusError(Code.INVALID_ARGUMENT, `"${url}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new StatusError(Code.INVALID_ARGUMENT, `${url}: only http and https URLs can be fetched`);
  const host = u.hostname;
  const ok = allowed.some((a) => (a.startsWith('*.') ? host.endsWith(a.slice(1)) : host === a));
  if (!ok) throw new StatusError(Code.PERMISSION_DENIED, `${host} is not on this server's remoteAsset.allowedHosts (${allowed.join(', ') || 'empty'})`);
}
