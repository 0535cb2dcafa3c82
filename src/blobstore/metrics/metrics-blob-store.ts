import { Readable } from 'node:stream';
import { Digest } from '../../digest/digest';
import { Code, toStatusError } from '../../grpc/status-error';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { checkRange } from '../blob-io';

/** A counter already bound to its labels (Metrics.counterChild: one addition per inc). */
export interface Count {
  inc(n?: number): void;
}

/** The counters of one storage node. */
export interface BlobStoreCounters {
  readBytes: Count;
  readOk: Count;
  readNotFound: Count;
  readError: Count;
  writtenBytes: Count;
  writeCommitted: Count;
  writeAborted: Count;
  writeError: Count;
  present: Count;
  missing: Count;
}

/**
 * Counts what passes through one node of the storage tree: reads (a stream's bytes counted when it ends, from the
 * range it covered; a reader's bytes summed and counted at close), uploads (bytes counted at commit) and FindMissing answers. The factory wraps every
 * configured node in one, so no store counts by hand.
 */
export class MetricsBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    private readonly c: BlobStoreCounters,
  ) {}

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    const missing = await this.inner.findMissing(digests);
    this.c.present.inc(digests.length - missing.length);
    this.c.missing.inc(missing.length);
    return missing;
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    let stream: Readable;
    try {
      stream = await this.inner.get(digest, options);
    } catch (err) {
      this.countFailedRead(err);
      throw err;
    }
    const { start, end } = checkRange(digest, options);
    // 'end' and 'error' listeners leave the stream's flow control to its consumer.
    stream.once('end', () => {
      this.c.readOk.inc();
      this.c.readBytes.inc(end - start);
    });
    stream.once('error', () => this.c.readError.inc());
    return stream;
  }

  private countFailedRead(err: unknown): void {
    (toStatusError(err).code === Code.NOT_FOUND ? this.c.readNotFound : this.c.readError).inc();
  }

  async open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    let r: BlobReader;
    try {
      r = await this.inner.open(digest, range);
    } catch (err) {
      this.countFailedRead(err);
      throw err;
    }
    const c = this.c;
    let bytes = 0;
    let failed = false;
    // Bytes are summed here and counted once at close: the per-chunk path only adds.
    return {
      read: (target, offset, length, position) =>
        r.read(target, offset, length, position).then(
          (n) => {
            bytes += n;
            return n;
          },
          (err) => {
            failed = true;
            throw err;
          },
        ),
      close: () => {
        if (failed) c.readError.inc();
        else {
          c.readOk.inc();
          c.readBytes.inc(bytes);
        }
        return r.close();
      },
    };
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    const c = this.c;
    let w: BlobWriter;
    try {
      w = await this.inner.createWriter(digest);
    } catch (err) {
      c.writeError.inc();
      throw err;
    }
    let finished = false;
    return {
      get committedSize() {
        return w.committedSize;
      },
      write: (chunk) => w.write(chunk),
      async commit() {
        try {
          await w.commit();
        } catch (err) {
          if (!finished) c.writeError.inc();
          finished = true;
          throw err;
        }
        if (!finished) {
          c.writeCommitted.inc();
          c.writtenBytes.inc(digest.size);
        }
        finished = true;
      },
      async abort() {
        if (!finished) c.writeAborted.inc();
        finished = true;
        await w.abort();
      },
    };
  }
}
