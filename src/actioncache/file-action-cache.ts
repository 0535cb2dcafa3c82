import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LRUCache } from 'lru-cache';
import { scanBlobFiles } from '../blobstore/filesystem/scan-blob-files';
import { SyncDirectory } from '../blobstore/filesystem/directory-syncer';
import { EntryFiles } from '../blobstore/filesystem/entry-files';
import { Digest } from '../digest/digest';
import { Code, StatusError } from '../grpc/status-error';
import { encode, re, REv2 } from '../proto';
import { ActionCache } from './action-cache';

export interface FileActionCacheOptions {
  /** Entries beyond this many bytes on disk are removed, least recently used first (default 1 GiB). */
  maxBytes?: number;
  /**
   * Entries indexed at most (default 1,000,000): each costs ~250 bytes of JS heap (measured in the soak), and
   * ActionResults are small, so 1 GiB of them would otherwise index millions of entries.
   */
  maxEntries?: number;
  /** How a directory is fsynced after a rename into it (tests watch it). */
  syncDirectory?: SyncDirectory;
  /** Told the size of each entry evicted to stay within maxBytes (eviction metrics). */
  onEvict?: (bytes: number) => void;
}

/** Bytes an entry costs beyond its content (inode, directory entry): keeps the count bounded for tiny results. */
const ENTRY_OVERHEAD = 256;
const DEFAULT_MAX_ENTRIES = 1_000_000;
/** A hit refreshes the file's mtime (its recency after a restart) at most this often. */
const TOUCH_EVERY_MS = 10 * 60_000;

/**
 * Persistent AC: one file per action digest, written to a temp file, fsynced and renamed so readers never see a torn
 * entry; the directory is fsynced after the rename before UpdateActionResult is acknowledged, so it survives a power
 * loss too. Temp files of a crashed process are removed at open. Bounded: an LRU index (rebuilt from mtimes at open) removes the least recently used entries beyond maxBytes.
 */
export class FileActionCache implements ActionCache {
  /** Action key → entry size, and when its mtime was last set. */
  private readonly index: LRUCache<string, { size: number; touchedMs: number }>;
  /** Entry files put into place and evicted ones removed, in order per action (see EntryFiles). */
  private readonly files: EntryFiles;

  private constructor(
    private readonly root: string,
    private readonly maxEntries: number,
    options: FileActionCacheOptions,
  ) {
    this.files = new EntryFiles((key) => this.index.has(key), options.syncDirectory);
    this.index = new LRUCache<string, { size: number; touchedMs: number }>({
      maxSize: Math.max(1, options.maxBytes ?? 1024 ** 3),
      sizeCalculation: (e) => e.size + ENTRY_OVERHEAD,
      dispose: (e, key, reason) => {
        if (reason !== 'evict') return;
        this.files.unlinkEvicted(key, entryPath(root, key));
        options.onEvict?.(e.size);
      },
    });
  }

  static async open(root: string, options: FileActionCacheOptions = {}): Promise<FileActionCache> {
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!(maxEntries >= 1)) throw new Error(`the action cache's maxEntries must be at least 1, got ${options.maxEntries}`);
    await fsp.rm(path.join(root, 'tmp'), { recursive: true, force: true });
    await fsp.mkdir(path.join(root, 'tmp'), { recursive: true });
    // Oldest first, so the most recently used entries survive a smaller maxBytes.
    const found = await scanBlobFiles(root, { checkSizes: false });
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    const ac = new FileActionCache(root, maxEntries, options);
    for (const f of found) ac.insert(f.key, f.size, f.mtimeMs);
    return ac;
  }

  /** Entries indexed. */
  get entries(): number {
    return this.index.size;
  }

  /** Indexes an entry; beyond maxEntries the least recently used one is evicted (file deleted) as for bytes. */
  private insert(key: string, size: number, touchedMs: number): void {
    this.index.set(key, { size, touchedMs });
    while (this.index.size > this.maxEntries) this.index.pop();
  }

  /** Bytes (with per-entry overhead) the index accounts for. */
  get sizeBytes(): number {
    return this.index.calculatedSize;
  }

  async get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    const file = entryPath(this.root, actionDigest.key);
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.index.delete(actionDigest.key);
        return undefined;
      }
      throw err;
    }
    let result: REv2.ActionResult;
    try {
      result = re.ActionResult.decode(bytes);
    } catch {
      // An unreadable entry (a disk that lied about fsync, a hand edit) is a miss, and goes: it would only ever miss.
      this.index.delete(actionDigest.key);
      await fsp.unlink(file).catch(() => undefined);
      return undefined;
    }
    const now = Date.now();
    const e = this.index.get(actionDigest.key);
    if (!e) this.insert(actionDigest.key, bytes.length, now);
    else if (now - e.touchedMs > TOUCH_EVERY_MS) {
      e.touchedMs = now;
      void fsp.utimes(file, now / 1000, now / 1000).catch(() => undefined);
    }
    return result;
  }

  async put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    const bytes = encode(re.ActionResult, result as REv2.ActionResult);
    const dest = entryPath(this.root, actionDigest.key);
    const tmp = path.join(this.root, 'tmp', `${actionDigest.hash}-${randomBytes(6).toString('hex')}`);
    const fh = await fsp.open(tmp, 'wx').catch((err) => {
      throw this.diskError(err);
    });
    try {
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.files.publish(actionDigest.key, tmp, dest, () => this.insert(actionDigest.key, bytes.length, Date.now()));
    } catch (err) {
      // A failed write (e.g. ENOSPC) must not leave temp files behind until the next restart.
      await fsp.unlink(tmp).catch(() => undefined);
      throw this.diskError(err);
    }
  }

  /** A full disk is RESOURCE_EXHAUSTED (retryable) saying where; other errors pass unchanged. */
  private diskError(err: unknown): unknown {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
    return new StatusError(Code.RESOURCE_EXHAUSTED, `no space left on the action cache disk at ${this.root} (${code}); the result was not stored — retry later`);
  }
}

function entryPath(root: string, key: string): string {
  return path.join(root, key.slice(0, 2), key);
}
