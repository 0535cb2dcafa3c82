import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface BlobFile {
  key: string;
  size: number;
  mtimeMs: number;
}

const SHARD = /^[0-9a-f]{2}$/;
const BLOB = /^([0-9a-f]+)-([0-9]+)$/;

/**
 * Lists the files under a `{root}/{hh}/{hash}-{size}` tree. For blobs (`checkSizes`, the default) a file whose size
 * disagrees with its name is removed; the action cache names entries by the action's digest, so it does not check.
 */
export async function scanBlobFiles(root: string, options: { checkSizes?: boolean } = {}): Promise<BlobFile[]> {
  const out: BlobFile[] = [];
  let shards: string[];
  try {
    shards = (await fsp.readdir(root)).filter((s) => SHARD.test(s));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const shard of shards) {
    const dir = path.join(root, shard);
    for (const name of await fsp.readdir(dir)) {
      const m = BLOB.exec(name);
      if (!m) continue;
      const st = await fsp.stat(path.join(dir, name));
      if (options.checkSizes !== false && st.size !== Number(m[2])) {
        await fsp.unlink(path.join(dir, name)).catch(() => undefined);
        continue;
      }
      out.push({ key: name, size: st.size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}
