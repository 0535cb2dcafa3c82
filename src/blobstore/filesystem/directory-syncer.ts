import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** fsyncs one directory (its entries: a rename or a new file's name); injectable so tests can watch the calls. */
export type SyncDirectory = (dir: string) => Promise<void>;

export const fsyncDirectory: SyncDirectory = async (dir) => {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
};

/**
 * Makes renames durable: a file renamed into place survives power loss only once its directory is fsynced too.
 * Concurrent commits into the same directory share one fsync (one that starts after all of them renamed), so a burst
 * of small uploads into a shard costs about one directory fsync, not one each.
 */
export class DirectorySyncer {
  /** Per directory: the fsync waiting to start (joined by later renames) and the one running. */
  private readonly pending = new Map<string, { next?: Promise<void>; running?: Promise<void> }>();

  constructor(private readonly syncDirectory: SyncDirectory = fsyncDirectory) {}

  /** Resolves once an fsync of `dir` that started after this call has finished. */
  sync(dir: string): Promise<void> {
    let p = this.pending.get(dir);
    if (!p) this.pending.set(dir, (p = {}));
    if (p.next) return p.next;
    const state = p;
    const next = (async () => {
      // Wait for the running fsync: it may have started before our rename, so it does not cover it.
      await state.running?.catch(() => undefined);
      state.next = undefined;
      const mine = (state.running = this.syncDirectory(dir));
      try {
        await mine;
      } finally {
        if (state.running === mine) state.running = undefined;
        if (!state.next && !state.running && this.pending.get(dir) === state) this.pending.delete(dir);
      }
    })();
    state.next = next;
    return next;
  }

  /**
   * Creates `dir` (and parents) if needed and makes the new entries durable: each newly created directory's name lives
   * in its parent.
   */
  async mkdir(dir: string): Promise<void> {
    const first = await fsp.mkdir(dir, { recursive: true });
    if (first === undefined) return;
    for (let d = dir; ; d = path.dirname(d)) {
      await this.sync(path.dirname(d));
      if (d === first || path.dirname(d) === d) break;
    }
  }
}
