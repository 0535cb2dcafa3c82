import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { encode, re, REv2 } from '../proto';

/** A blob the backend may need: bytes in memory (Directory, Command, Action) or a local file. */
export type UploadBlob = { digest: Digest; data: Buffer } | { digest: Digest; file: string };

interface Dir {
  files: Map<string, { digest: Digest; executable: boolean; source: UploadBlob }>;
  dirs: Map<string, Dir>;
}

/** The input root as a Merkle tree of Directory messages, built from files placed at paths inside the root. */
export interface InputTree {
  root: Digest;
  /** Every Directory message and every file, by digest key. */
  blobs: Map<string, UploadBlob>;
}

/** Collects files at input-root paths and encodes the canonical (sorted) Directory tree REAPI expects. */
export class InputTreeBuilder {
  private readonly top: Dir = { files: new Map(), dirs: new Map() };

  constructor(private readonly fn: DigestFunction) {}

  /** Places a local file (or bytes) at `rootPath` ("a/b/c", no leading slash). The same path twice must agree. */
  add(rootPath: string, digest: Digest, executable: boolean, source: UploadBlob): void {
    const parts = rootPath.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.length === 0 || parts.includes('..')) throw new Error(`input path "${rootPath}" must be a relative path inside the input root`);
    let d = this.top;
    for (const p of parts.slice(0, -1)) {
      if (d.files.has(p)) throw new Error(`input path "${rootPath}": "${p}" is both a file and a directory`);
      let next = d.dirs.get(p);
      if (!next) d.dirs.set(p, (next = { files: new Map(), dirs: new Map() }));
      d = next;
    }
    const name = parts[parts.length - 1];
    if (d.dirs.has(name)) throw new Error(`input path "${rootPath}" is both a file and a directory`);
    const prev = d.files.get(name);
    if (prev && !prev.digest.equals(digest)) throw new Error(`input path "${rootPath}" was given two different contents`);
    d.files.set(name, { digest, executable, source });
  }

  build(): InputTree {
    const blobs = new Map<string, UploadBlob>();
    const encodeDir = (d: Dir): Digest => {
      const msg: REv2.IDirectory = {
        files: [...d.files.entries()].sort(byName).map(([name, f]) => {
          blobs.set(f.digest.key, f.source);
          return { name, digest: f.digest.toProto(), isExecutable: f.executable };
        }),
        directories: [...d.dirs.entries()].sort(byName).map(([name, sub]) => ({ name, digest: encodeDir(sub).toProto() })),
      };
      const data = encode(re.Directory, re.Directory.create(msg));
      const digest = Digest.compute(data, this.fn);
      blobs.set(digest.key, { digest, data });
      return digest;
    };
    return { root: encodeDir(this.top), blobs };
  }
}

function byName<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
