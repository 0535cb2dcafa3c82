import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { processAlive as alive } from '../util/process-alive';

/**
 * Runs `fn` while holding a lock file shared by the processes of one machine (the many wrapper processes of a build).
 * The lock holds its owner's pid and is created complete (written aside, then hard-linked into place), so a waiter
 * never reads a half-written one; a lock whose owner died is taken over. It guards work that would otherwise be done
 * N times at once (hashing and uploading a toolchain), not correctness: in the rare race where two waiters both take
 * over a stale lock, both do the work.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, pollMs = 100): Promise<T> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const mine = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fsp.writeFile(mine, String(process.pid));
  try {
    for (;;) {
      try {
        await fsp.link(mine, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number(await fsp.readFile(file, 'utf8').catch(() => ''));
      if (!(pid > 0 && alive(pid))) await fsp.unlink(file).catch(() => undefined);
      else await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await fsp.unlink(mine).catch(() => undefined);
  }
  try {
    return await fn();
  } finally {
    await fsp.unlink(file).catch(() => undefined);
  }
}
