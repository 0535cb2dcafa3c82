import { execFile } from 'node:child_process';
import { constants as fsConstants, createWriteStream, promises as fsp, WriteStream } from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { BlobStore } from '../blobstore/blob-store';
import { hashMismatch, sizeMismatch } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { wrap } from '../grpc/status-error';
import { processAlive as alive } from '../util/process-alive';

const run = promisify(execFile);

export interface FileCacheOptions {
  dir: string;
  maxBytes: number;
  logger: Logger;
  /** This boot of the machine (default: /proc/sys/kernel/random/boot_id); tests pass their own. */
  bootId?: string;
  /** Told whether each lookup found the file cached (hit/miss metrics). */
  onLookup?: (hit: boolean) => void;
  /** Told the size of each file evicted to stay within maxBytes (eviction metrics). */
  onEvict?: (bytes: number) => void;
}

/** `state.json`: which boot wrote the cache, and whether its last run ended with everything synced to disk. */
interface CacheState {
  bootId: string;
  clean: boolean;
}

interface Entry {
  file: string;
  size: number;
}

/**
 * A size-bounded local cache of CAS files, hardlinked into input roots so a toolchain is downloaded once per
 * worker. Executable and non-executable variants are separate files because hardlinks share one mode. Cached files
 * are read-only (0555/0444, as Bazel leaves its outputs) and never modified in place: eviction unlinks them, and
 * existing hardlinks stay valid. (Root ignores the mode: see the worker's --run-as.)
 */
export class FileCache {
  private readonly lru: LRUCache<string, Entry>;
  private readonly downloads = new Map<string, Promise<Entry>>();
  private readonly filesDir: string;
  private readonly tmpDir: string;
  private seq = 0;
  private bootId = '';

  private constructor(private readonly options: FileCacheOptions) {
    this.filesDir = path.join(options.dir, 'files');
    this.tmpDir = path.join(options.dir, 'tmp');
    this.lru = new LRUCache<string, Entry>({
      maxSize: Math.max(1, options.maxBytes),
      // Empty files still cost an inode; count them as one byte so the entry count stays bounded.
      sizeCalculation: (e) => Math.max(1, e.size),
      // Every download has its own file name, so a replaced or evicted entry's file is never another entry's.
      dispose: (e, _k, reason) => {
        void fsp.unlink(e.file).catch(() => undefined);
        if (reason === 'evict') options.onEvict?.(e.size);
      },
    });
  }

  /**
   * Keeps the files of an earlier run when they can be trusted: downloads are verified before they are renamed into
   * place, so after a process crash every file is whole — but not after a machine crash, as files are not fsynced one
   * by one. So the files are kept if the same boot wrote them, or if that run ended cleanly (close() synced them);
   * otherwise the cache starts empty. A file whose size does not match its digest is dropped either way.
   */
  static async open(options: FileCacheOptions): Promise<FileCache> {
    const cache = new FileCache(options);
    const bootId = options.bootId ?? (await fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
    await fsp.mkdir(options.dir, { recursive: true });
    await lock(path.join(options.dir, 'lock'), bootId); // before anything is wiped: the directory may be another worker's
    const before = await readState(cache.statePath);
    const trusted = !!before && (before.clean || (bootId !== '' && before.bootId === bootId));
    if (!trusted) await fsp.rm(cache.filesDir, { recursive: true, force: true });
    await fsp.rm(cache.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(cache.filesDir, { recursive: true });
    await fsp.mkdir(cache.tmpDir, { recursive: true });
    if (trusted) await cache.reload();
    await writeState(cache.statePath, { bootId, clean: false });
    cache.bootId = bootId;
    return cache;
  }

  /** Syncs the files to disk and records a clean end, so the next run keeps them even after a reboot. */
  async close(): Promise<void> {
    try {
      await run('sync', [], { timeout: 60_000 });
      await writeState(this.statePath, { bootId: this.bootId, clean: true });
      await fsp.unlink(path.join(this.options.dir, 'lock')).catch(() => undefined);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'file cache not synced; the next start after a reboot begins empty');
    }
  }

  private get statePath(): string {
    return path.join(this.options.dir, 'state.json');
  }

  /** Indexes the files an earlier run left, oldest download first, so the newest survive a smaller maxBytes. */
  private async reload(): Promise<void> {
    const found: { key: string; file: string; size: number; mtimeMs: number; seq: number }[] = [];
    for (const name of await fsp.readdir(this.filesDir)) {
      const file = path.join(this.filesDir, name);
      const m = /^(.+-([0-9a-f]+)-(\d+)(-x)?)\.(\d+)$/.exec(name);
      const st = await fsp.stat(file).catch(() => undefined);
      if (!m || !st?.isFile() || st.size !== Number(m[3])) {
        await fsp.rm(file, { recursive: true, force: true });
        continue;
      }
      if (st.mode & 0o222) await fsp.chmod(file, m[4] ? 0o555 : 0o444); // written by a version that left them writable
      found.push({ key: m[1], file, size: st.size, mtimeMs: st.mtimeMs, seq: Number(m[5]) });
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) {
      this.seq = Math.max(this.seq, f.seq);
      this.lru.set(f.key, { file: f.file, size: f.size }); // a second file for the same key replaces (and unlinks) the first
    }
    this.options.logger.info({ files: this.lru.size, bytes: this.lru.calculatedSize }, 'file cache reloaded');
  }

  get size(): number {
    return this.lru.calculatedSize;
  }

  has(digest: Digest, executable: boolean): boolean {
    return this.lru.has(keyOf(digest, executable));
  }

  /** Places the blob at `dest` (which must not exist): a hardlink to the cached file, or a copy across devices. */
  link(store: BlobStore, digest: Digest, executable: boolean, dest: string): Promise<void> {
    return this.place(store, digest, executable, dest, linkOrCopy);
  }

  /**
   * Places the blob at `dest` as a file of its own (a reflink where the filesystem can, else a copy), for inputs whose
   * mode or mtime differ from the cached file's: setting them on a hardlink would change the cache's inode, and with
   * it every other input root sharing it.
   */
  copy(store: BlobStore, digest: Digest, executable: boolean, dest: string): Promise<void> {
    return this.place(store, digest, executable, dest, (src, d) => fsp.copyFile(src, d, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE));
  }

  /** The mode every cached file has (a hardlink of it shows this mode). */
  static modeOf(executable: boolean): number {
    return executable ? 0o555 : 0o444;
  }

  private async place(store: BlobStore, digest: Digest, executable: boolean, dest: string, put: (src: string, dest: string) => Promise<void>): Promise<void> {
    const key = keyOf(digest, executable);
    for (let attempt = 0; ; attempt++) {
      const cached = this.lru.get(key);
      if (attempt === 0) this.options.onLookup?.(cached !== undefined);
      const entry = cached ?? (await this.fetch(store, key, digest, executable));
      try {
        await put(entry.file, dest);
        return;
      } catch (err) {
        // Evicted between lookup and link: fetch it again (once).
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw wrap(err, `placing ${digest} at ${dest}`);
        if (this.lru.peek(key) === entry) this.lru.delete(key);
      }
    }
  }

  /** Deduplicates concurrent downloads of the same file. */
  private fetch(store: BlobStore, key: string, digest: Digest, executable: boolean): Promise<Entry> {
    let p = this.downloads.get(key);
    if (!p) {
      p = this.download(store, key, digest, executable).finally(() => this.downloads.delete(key));
      this.downloads.set(key, p);
    }
    return p;
  }

  private async download(store: BlobStore, key: string, digest: Digest, executable: boolean): Promise<Entry> {
    const seq = ++this.seq;
    const tmp = path.join(this.tmpDir, `${key}.${seq}`);
    let out: WriteStream | undefined;
    try {
      const source = await store.get(digest);
      out = createWriteStream(tmp, { mode: 0o644 });
      await pipeline(source, verifier(digest), out);
      // Read-only: every input root shares this inode, so an action writing into an input must not reach the cache.
      await fsp.chmod(tmp, FileCache.modeOf(executable));
      // A unique name per download, so a late unlink of an evicted entry never hits a newer file.
      const file = path.join(this.filesDir, `${key}.${seq}`);
      await fsp.rename(tmp, file);
      const entry = { file, size: digest.size };
      this.lru.set(key, entry);
      if (!this.lru.has(key)) {
        // Larger than the whole cache: serve it from a private temp name that link() unlinks after use.
        this.options.logger.warn({ digest: `${digest}`, maxBytes: this.options.maxBytes }, 'blob larger than the file cache; it is not kept');
        setTimeout(() => void fsp.unlink(file).catch(() => undefined), 60_000).unref();
      }
      return entry;
    } catch (err) {
      // The stream opens its file asynchronously: wait until it is closed, or the unlink could come first.
      if (out && !out.closed) {
        const closed = new Promise<void>((resolve) => out!.once('close', () => resolve()));
        out.destroy();
        await closed;
      }
      await fsp.unlink(tmp).catch(() => undefined);
      throw wrap(err, `downloading ${digest}`);
    }
  }
}

/**
 * One worker per cache directory: two would evict (unlink) each other's files. The lock names this boot and pid; one
 * left by a dead process or an earlier boot is taken over.
 */
async function lock(file: string, bootId: string): Promise<void> {
  const mine = `${bootId} ${process.pid}`;
  for (;;) {
    try {
      await fsp.writeFile(file, mine, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [boot, pidText] = (await fsp.readFile(file, 'utf8').catch(() => '')).split(' ');
    const pid = Number(pidText);
    if (boot === bootId && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(`cache directory ${path.dirname(file)} is in use by process ${pid}; give each worker its own --cache-dir`);
    }
    await fsp.unlink(file).catch(() => undefined); // stale: its owner is gone
  }
}

async function readState(file: string): Promise<CacheState | undefined> {
  try {
    const s = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<CacheState>;
    return typeof s.bootId === 'string' && typeof s.clean === 'boolean' ? { bootId: s.bootId, clean: s.clean } : undefined;
  } catch {
    return undefined;
  }
}

async function writeState(file: string, state: CacheState): Promise<void> {
  await fsp.writeFile(`${file}.tmp`, JSON.stringify(state));
  await fsp.rename(`${file}.tmp`, file);
}

function keyOf(digest: Digest, executable: boolean): string {
  return `${digest.fn.name}-${digest.hash}-${digest.size}${executable ? '-x' : ''}`;
}

/** Checks size and hash while streaming: the local cache is only as good as what was written into it. */
function verifier(digest: Digest): Transform {
  const hash = digest.fn.createHash();
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.byteLength;
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (n !== digest.size) return cb(sizeMismatch(digest, n));
      const actual = hash.digest('hex');
      cb(actual === digest.hash ? null : hashMismatch(digest, actual));
    },
  });
}

async function linkOrCopy(src: string, dest: string): Promise<void> {
  try {
    await fsp.link(src, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Too many links to one inode, another filesystem, or a filesystem without hardlinks.
    if (code !== 'EMLINK' && code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
    await fsp.copyFile(src, dest);
    const { mode } = await fsp.stat(src);
    await fsp.chmod(dest, mode & 0o7777);
  }
}
