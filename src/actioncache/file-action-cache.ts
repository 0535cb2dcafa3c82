import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Digest } from '../digest/digest';
import { encode, re, REv2 } from '../proto';
import { ActionCache } from './action-cache';

/** Persistent AC: one file per action digest, written to a temp file, fsynced and renamed so readers never see a torn entry. */
export class FileActionCache implements ActionCache {
  private constructor(private readonly root: string) {}

  static async open(root: string): Promise<FileActionCache> {
    await fsp.rm(path.join(root, 'tmp'), { recursive: true, force: true });
    await fsp.mkdir(path.join(root, 'tmp'), { recursive: true });
    return new FileActionCache(root);
  }

  async get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(this.entryPath(actionDigest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return re.ActionResult.decode(bytes);
    } catch {
      return undefined; // An unreadable entry is a miss; the next UpdateActionResult replaces it.
    }
  }

  async put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    const bytes = encode(re.ActionResult, result as REv2.ActionResult);
    const dest = this.entryPath(actionDigest);
    const tmp = path.join(this.root, 'tmp', `${actionDigest.hash}-${randomBytes(6).toString('hex')}`);
    const fh = await fsp.open(tmp, 'wx');
    try {
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      await fsp.rename(tmp, dest);
    } catch (err) {
      // A failed write (e.g. ENOSPC) must not leave temp files behind until the next restart.
      await fsp.unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  private entryPath(d: Digest): string {
    return path.join(this.root, d.hash.slice(0, 2), d.key);
  }
}
