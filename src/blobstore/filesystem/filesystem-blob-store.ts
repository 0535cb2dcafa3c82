import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { Digest } from '../../digest/digest';
import { Code, StatusError } from '../../grpc/status-error';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { blobNotFound, bufferReader, checkRange, hashMismatch, sizeMismatch } from '../blob-io';
import { scanBlobFiles } from './scan-blob-files';
import { SyncDirectory } from './directory-syncer';
import { EntryFiles } from './entry-files';

export interface FilesystemBlobStoreOptions {
  path: string;
  maxBytes: number;
  /**
   * Blobs indexed at most (default 2,000,000): each costs ~250 bytes of JS heap (measured in the soak), so a store of
   * small blobs would otherwise hold maxBytes / size entries in memory (20 GB of 100-byte blobs: 50 GB of heap).
   */
  maxEntries?: number;
  /** Re-stamp a blob's mtime (its persisted LRU position) at most this often. */
  touchIntervalMs?: number;
  logger?: Logger;
  now?: () => number;
  /** How a directory is fsynced after a rename into it (tests watch it). */
  syncDirectory?: SyncDirectory;
  /** Told the size of each blob evicted to stay within maxBytes (eviction metrics). */
  onEvict?: (bytes: number) => void;
}

const DEFAULT_MAX_ENTRIES = 2_000_000;

interface Entry {
  size: number;
  touchedMs: number;
}

/**
 * Blobs as files under `{path}/{hash[0:2]}/{hash}-{size}`. Uploads stream into `{path}/tmp/`, are hashed while they
 * stream, fsynced, and renamed into place only when the digest matches, so a crash never leaves a partial blob visible;
 * the directory is fsynced after the rename before the upload is acknowledged, so a power loss does not undo it.
 * A size-bounded LRU (rebuilt from mtimes at start-up) evicts the least recently used blobs, also to make room for an
 * upload when it starts (its size is known from the digest).
 */
export class FilesystemBlobStore implements BlobStore {
  private readonly index: LRUCache<string, Entry>;
  private readonly tmpDir: string;
  private readonly touchIntervalMs: number;
  private readonly now: () => number;
  /** Blob files put into place and evicted ones removed, in order per blob (see EntryFiles). */
  private readonly files: EntryFiles;
  /** Bytes of uploads in progress: room is made for them when they start, so the disk never holds more than maxBytes. */
  private reserved = 0;
  private readonly maxEntries: number;

  private constructor(private readonly options: FilesystemBlobStoreOptions) {
    this.files = new EntryFiles((key) => this.index.has(key), options.syncDirectory);
    this.tmpDir = path.join(options.path, 'tmp');
    this.touchIntervalMs = options.touchIntervalMs ?? 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!(this.maxEntries >= 1)) throw new Error(`the CAS's maxEntries must be at least 1, got ${options.maxEntries}`);
    this.index = new LRUCache<string, Entry>({
      maxSize: options.maxBytes,
      sizeCalculation: (e) => Math.max(1, e.size),
      dispose: (e, key, reason) => {
        if (reason !== 'evict') return;
        this.files.unlinkEvicted(key, this.blobPath(key));
        options.onEvict?.(e.size);
      },
    });
  }

  /** Opens the store: removes temp files left by a crash and rebuilds the LRU index from disk. */
  static async open(options: FilesystemBlobStoreOptions): Promise<FilesystemBlobStore> {
    const store = new FilesystemBlobStore(options);
    await fsp.rm(store.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(store.tmpDir, { recursive: true });
    const files = await scanBlobFiles(options.path);
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of files) store.insert(f.key, { size: f.size, touchedMs: f.mtimeMs });
    options.logger?.info({ path: options.path, blobs: files.length, bytes: store.index.calculatedSize, maxBytes: options.maxBytes }, 'filesystem blob store opened');
    return store;
  }

  get usedBytes(): number {
    return this.index.calculatedSize;
  }

  get reservedBytes(): number {
    return this.reserved;
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    return digests.filter((d) => !d.isEmpty && !this.touch(d.key));
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    const { start, end } = checkRange(digest, options);
    if (digest.isEmpty || start === end) {
      if (!digest.isEmpty && !this.touch(digest.key)) throw blobNotFound(digest);
      return Readable.from([], { objectMode: false });
    }
    const fh = await this.openFile(digest);
    // The open descriptor keeps the bytes readable even if the blob is evicted meanwhile.
    return fh.createReadStream({ start, end: end - 1, highWaterMark: 1024 * 1024, autoClose: true });
  }

  /**
   * A plain file descriptor and fs's callback API rather than a FileHandle: a BatchReadBlobs of 1,000 small blobs
   * opens 1,000 files, and FileHandle's objects and promise machinery cost more CPU than the reads (and garbage).
   * Callers close in a finally; the descriptor keeps the bytes readable if the blob is evicted meanwhile.
   */
  async open(digest: Digest): Promise<BlobReader> {
    if (digest.isEmpty) return bufferReader(Buffer.alloc(0));
    if (!this.touch(digest.key)) throw blobNotFound(digest);
    const fd = await new Promise<number>((resolve, reject) => fs.open(this.blobPath(digest.key), 'r', (err, fd) => (err ? reject(err) : resolve(fd)))).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      this.index.delete(digest.key);
      throw blobNotFound(digest);
    });
    let closed = false;
    return {
      read: (target, offset, length, position) =>
        new Promise<number>((resolve, reject) => fs.read(fd, target, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))),
      close: () => {
        if (closed) return Promise.resolve();
        closed = true;
        return new Promise<void>((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
      },
    };
  }

  private async openFile(digest: Digest): Promise<fsp.FileHandle> {
    if (!this.touch(digest.key)) throw blobNotFound(digest);
    try {
      return await fsp.open(this.blobPath(digest.key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.index.delete(digest.key);
        throw blobNotFound(digest);
      }
      throw err;
    }
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    if (digest.size > this.options.maxBytes) {
      throw new StatusError(Code.RESOURCE_EXHAUSTED, `blob ${digest} is larger than the whole store (${this.options.maxBytes} bytes)`);
    }
    const tmp = path.join(this.tmpDir, `${digest.hash}-${randomBytes(8).toString('hex')}`);
    const fh = await fsp.open(tmp, 'wx', 0o644).catch((err) => {
      throw this.diskError(err, digest);
    });
    const hash = digest.fn.createHash();
    let size = 0;
    let state: 'open' | 'done' = 'open';
    this.reserve(digest.size);
    const finish = async () => {
      if (state === 'done') return;
      state = 'done';
      this.reserved -= digest.size;
      await fh.close().catch(() => undefined);
      await fsp.unlink(tmp).catch(() => undefined);
    };
    return {
      get committedSize() {
        return size;
      },
      write: async (chunk) => {
        if (state !== 'open') throw new StatusError(Code.FAILED_PRECONDITION, `upload of ${digest} is already finished`);
        if (size + chunk.byteLength > digest.size) throw sizeMismatch(digest, size + chunk.byteLength);
        // FileHandle.write may write less than asked (it does not loop like writeFile); a short write would corrupt the blob.
        try {
          for (let off = 0; off < chunk.byteLength; ) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
            off += bytesWritten;
          }
        } catch (err) {
          throw this.diskError(err, digest);
        }
        hash.update(chunk);
        size += chunk.byteLength;
      },
      commit: async () => {
        if (state !== 'open') throw new StatusError(Code.FAILED_PRECONDITION, `upload of ${digest} is already finished`);
        if (size !== digest.size) {
          await finish();
          throw sizeMismatch(digest, size);
        }
        const actual = hash.digest('hex');
        if (actual !== digest.hash) {
          await finish();
          throw hashMismatch(digest, actual);
        }
        state = 'done';
        this.reserved -= digest.size;
        try {
          await fh.sync();
          await fh.close();
          await this.files.publish(digest.key, tmp, this.blobPath(digest.key), () => this.insert(digest.key, { size: digest.size, touchedMs: this.now() }));
        } catch (err) {
          await fh.close().catch(() => undefined);
          await fsp.unlink(tmp).catch(() => undefined);
          throw this.diskError(err, digest);
        }
      },
      abort: finish,
    };
  }

  /** A full disk is RESOURCE_EXHAUSTED (retryable) with where and what to do; other errors pass unchanged. */
  private diskError(err: unknown, digest: Digest): unknown {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
    this.options.logger?.warn({ path: this.options.path, digest: `${digest}`, usedBytes: this.usedBytes, maxBytes: this.options.maxBytes }, 'CAS disk full');
    return new StatusError(
      Code.RESOURCE_EXHAUSTED,
      `no space left on the CAS disk at ${this.options.path} while storing ${digest} (${code}); nothing was stored — retry later, and set the store's maxBytes below the disk's free space so old blobs are evicted instead`,
    );
  }

  /** Indexes a stored blob; beyond maxEntries the least recently used blob is evicted (file deleted) as for bytes. */
  private insert(key: string, e: Entry): void {
    this.index.set(key, e);
    while (this.index.size > this.maxEntries) this.index.pop();
  }

  /** Evicts least recently used blobs until the index and the uploads in progress fit in maxBytes (as far as it can). */
  private reserve(bytes: number): void {
    this.reserved += bytes;
    while (this.index.size > 0 && this.index.calculatedSize + this.reserved > this.options.maxBytes) this.index.pop();
  }

  /** Marks a blob used (LRU position in memory, and its mtime on disk at most once per interval); false if absent. */
  private touch(key: string): boolean {
    const e = this.index.get(key);
    if (!e) return false;
    const now = this.now();
    if (now - e.touchedMs > this.touchIntervalMs) {
      e.touchedMs = now;
      const t = new Date(now);
      void fsp.utimes(this.blobPath(key), t, t).catch(() => undefined);
    }
    return true;
  }

  private blobPath(key: string): string {
    return path.join(this.options.path, key.slice(0, 2), key);
  }
}
