import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';

const STALE_MS = 10 * 60_000;

/**
 * Remembers, across the many short-lived processes of one build, that the backend was unreachable (or, with another
 * `condition`, that it had no worker): the first process that finds out writes a marker file and prints the warning;
 * the others see a fresh marker, stay quiet and skip the attempt (no connect or queue timeout per compile). After
 * `retryMs` a process tries again; a success removes the marker.
 */
export class Reachability {
  private readonly marker: string;

  constructor(
    cacheDir: string,
    address: string,
    private readonly retryMs = 30_000,
    private readonly now: () => number = Date.now,
    condition: 'unreachable' | 'no-worker' = 'unreachable',
  ) {
    this.marker = path.join(cacheDir, `${condition}-${createHash('sha256').update(address).digest('hex').slice(0, 16)}`);
  }

  /** True when another process found the backend unreachable within the last `retryMs`. */
  async recentlyUnreachable(): Promise<boolean> {
    try {
      const st = await fsp.stat(this.marker);
      return this.now() - st.mtimeMs < this.retryMs;
    } catch {
      return false;
    }
  }

  /** Records a failure; true if this process is the first to notice (it should print the one warning). */
  async markUnreachable(): Promise<boolean> {
    await fsp.mkdir(path.dirname(this.marker), { recursive: true });
    // A marker left from an outage long ago (a build yesterday) does not silence today's warning.
    const st = await fsp.stat(this.marker).catch(() => undefined);
    if (st && this.now() - st.mtimeMs > STALE_MS) await fsp.rm(this.marker, { force: true });
    try {
      const fh = await fsp.open(this.marker, 'wx');
      await fh.close();
      return true;
    } catch {
      // Someone else noticed first; refresh the marker's time so the others keep skipping.
      const t = new Date(this.now());
      await fsp.utimes(this.marker, t, t).catch(() => undefined);
      return false;
    }
  }

  async markReachable(): Promise<void> {
    await fsp.rm(this.marker, { force: true });
  }
}
