import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * Removes an action directory. A worker not running as root cannot empty a directory without write permission, which
 * an input Directory's unix_mode (or the action itself) may have left: such directories are made writable first.
 */
export async function removeTree(dir: string): Promise<void> {
  try {
    await fsp.rm(dir, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    await makeWritable(dir);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Top down, so that a directory without read permission can be listed once it got it. */
async function makeWritable(dir: string): Promise<void> {
  await fsp.chmod(dir, 0o700).catch(() => undefined);
  for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await makeWritable(path.join(dir, e.name));
}
