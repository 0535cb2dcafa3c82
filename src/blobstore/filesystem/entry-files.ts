import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { KeyedQueue } from '../../util/keyed-queue';
import { DirectorySyncer, SyncDirectory } from './directory-syncer';

/**
 * The files of a keyed, LRU-indexed store (the filesystem CAS, the file AC): finished temp files moved into place and
 * evicted files removed, in order per key. An unlink by path that ran after a rewrite of the same key had renamed its
 * new file into place deleted that file while the index said present (an acknowledged upload, then NOT_FOUND); queued
 * behind the rewrite, it finds the key indexed again and leaves the file alone.
 */
export class EntryFiles {
  private readonly dirs: DirectorySyncer;
  private readonly order = new KeyedQueue();

  constructor(
    /** Whether the store's index holds `key` now. */
    private readonly indexed: (key: string) => boolean,
    syncDirectory?: SyncDirectory,
  ) {
    this.dirs = new DirectorySyncer(syncDirectory);
  }

  /**
   * Renames `tmp` to `dest` and fsyncs its directory (a power loss must not take back an acknowledged entry), then
   * `index()`: all of it before any unlink of `key` queued later.
   */
  async publish(key: string, tmp: string, dest: string, index: () => void): Promise<void> {
    await this.dirs.mkdir(path.dirname(dest));
    await this.order.run(key, async () => {
      await fsp.rename(tmp, dest);
      await this.dirs.sync(path.dirname(dest));
      index();
    });
  }

  /** Unlinks an evicted entry's file after the publications of `key` queued before; not when one indexed it again. */
  unlinkEvicted(key: string, file: string): void {
    void this.order.run(key, async () => {
      if (!this.indexed(key)) await fsp.unlink(file).catch(() => undefined);
    });
  }
}
