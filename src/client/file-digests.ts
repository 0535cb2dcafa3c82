import { createReadStream, promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';

/** A local file's digest and whether it is executable. */
export interface FileDigest {
  digest: Digest;
  executable: boolean;
}

/** A file that is missing or cannot be read; the message names it. */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(`cannot read input file ${file}: ${cause.code === 'ENOENT' ? 'it does not exist' : cause.code === 'EACCES' ? 'permission denied' : cause.message}`);
  }
}

/**
 * Digests of local files, remembered across processes in one append-only file keyed by path, size, mtime, ctime and
 * inode (as ccache and sccache do): each compile re-hashes only what changed, not the ~490 MiB toolchain.
 */
export class FileDigests {
  private entries = new Map<string, string>();
  private appended: string[] = [];

  private constructor(
    private readonly file: string | undefined,
    readonly fn: DigestFunction,
  ) {}

  /** Loads the cache file (a missing or damaged one is a cold cache). `file` undefined: memory only. */
  static async open(file: string | undefined, fn: DigestFunction): Promise<FileDigests> {
    const d = new FileDigests(file, fn);
    if (!file) return d;
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const tab = line.lastIndexOf('\t');
      if (tab > 0) d.entries.set(line.slice(0, tab), line.slice(tab + 1));
    }
    return d;
  }

  /** True when every file's digest is remembered for its current size, times and inode (nothing to hash). */
  async allKnown(files: string[]): Promise<boolean> {
    for (const f of files) {
      const st = await fsp.stat(f).catch(() => undefined);
      if (!st?.isFile() || !this.entries.has(keyOf(f, st))) return false;
    }
    return true;
  }

  async digest(file: string): Promise<FileDigest> {
    let st: Stats;
    try {
      st = await fsp.stat(file);
      if (!st.isFile()) throw Object.assign(new Error(`not a regular file`), { code: 'EISDIR' });
    } catch (err) {
      throw new InputFileError(file, err as NodeJS.ErrnoException);
    }
    const executable = (st.mode & 0o111) !== 0;
    const key = keyOf(file, st);
    const hit = this.entries.get(key);
    if (hit) return { digest: Digest.of(hit, st.size, this.fn), executable };
    const digest = await hashFile(file, this.fn);
    this.entries.set(key, digest.hash);
    this.appended.push(`${key}\t${digest.hash}\n`);
    return { digest, executable };
  }

  /** Appends what this process learned (one write, so concurrent processes do not interleave within a line). */
  async save(): Promise<void> {
    if (!this.file || this.appended.length === 0) return;
    const text = this.appended.join('');
    this.appended = [];
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    await fsp.appendFile(this.file, text);
    // Keep the file from growing forever: once large, rewrite it with only the entries still current.
    const st = await fsp.stat(this.file);
    if (st.size > 16 * 1024 * 1024) {
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, [...this.entries].map(([k, v]) => `${k}\t${v}\n`).join(''));
      await fsp.rename(tmp, this.file);
    }
  }
}

function keyOf(file: string, st: Stats): string {
  return `${file}\t${st.size}\t${st.mtimeMs}\t${st.ctimeMs}\t${st.ino}`;
}

async function hashFile(file: string, fn: DigestFunction): Promise<Digest> {
  const hash = fn.createHash();
  let size = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
    }
  } catch (err) {
    throw new InputFileError(file, err as NodeJS.ErrnoException);
  }
  return Digest.of(hash.digest('hex'), size, fn);
}
