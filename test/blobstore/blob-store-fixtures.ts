import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../../src/blobstore/blob-store';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { StorageInstrumentation } from '../../src/blobstore/configuration/storage-instrumentation';

/** A fresh directory under the OS temp dir; remove it with `fsp.rm(dir, { recursive: true, force: true })`. */
export function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `rustexec-${prefix}-`));
}

export interface Blob {
  data: Buffer;
  digest: Digest;
}

/** A blob with the given bytes, or `n` random bytes. */
export function blob(content: string | Buffer | number): Blob {
  const data = typeof content === 'number' ? randomBytes(content) : typeof content === 'string' ? Buffer.from(content) : content;
  return { data, digest: Digest.compute(data, SHA256) };
}

export const EMPTY = Digest.empty(SHA256);

/** A clock tests move by hand. */
export class FakeClock {
  constructor(public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Wraps a store and counts what reaches it, so decorator tests can tell whether the inner store was asked. */
export class CountingBlobStore implements BlobStore {
  findMissingCalls = 0;
  /** Every digest passed to findMissing, in order. */
  findMissingDigests: Digest[] = [];
  gets = 0;
  writers = 0;
  commits = 0;
  aborts = 0;

  constructor(readonly inner: BlobStore) {}

  findMissing(digests: Digest[]): Promise<Digest[]> {
    this.findMissingCalls++;
    this.findMissingDigests.push(...digests);
    return this.inner.findMissing(digests);
  }

  get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    this.gets++;
    return this.inner.get(digest, options);
  }

  /** Counted as a get: both are reads. */
  open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    this.gets++;
    return this.inner.open(digest, range);
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    this.writers++;
    const w = await this.inner.createWriter(digest);
    const counts = this;
    return {
      get committedSize() {
        return w.committedSize;
      },
      write: (chunk) => w.write(chunk),
      commit() {
        counts.commits++;
        return w.commit();
      },
      abort() {
        counts.aborts++;
        return w.abort();
      },
    };
  }
}

/** Polls `check` until it returns true (async work like unlinks of evicted files), failing after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}

/** Storage instrumentation that only records evictions, as [cache, bytes] pairs. */
export function evictionRecorder(): { instrument: StorageInstrumentation; evictions: [string, number][] } {
  const evictions: [string, number][] = [];
  const instrument: StorageInstrumentation = {
    wrap: (s) => s,
    existenceCache: () => () => undefined,
    evicted: (cache) => (bytes) => evictions.push([cache, bytes]),
    s3Request: () => () => undefined,
  };
  return { instrument, evictions };
}
