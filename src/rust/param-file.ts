import { Digest } from '../digest/digest';
import { encode, re } from '../proto';
import { RustcCommand } from './rustc-command';

/** A rustc action's `@param` file as found in its input root. */
export interface ParamFile {
  /** The file's own digest. */
  digest: Digest;
  /** The digest the input root would have without it (both actions of a pipelined pair share this). */
  rootWithout: Digest;
}

/** Reads an encoded Directory blob (the caller may answer from what it already read). */
export type DirectoryReader = (digest: Digest) => Promise<Uint8Array>;

/** Finds the param file of a classified rustc action (relative to its working directory); undefined if it has none. */
export async function locateParamFile(readDirectory: DirectoryReader, cwd: string, rc: RustcCommand, root: Digest): Promise<ParamFile | undefined> {
  if (!rc.paramFile) return undefined;
  return withoutFile(readDirectory, root, joinPath(cwd, rc.paramFile).split('/'));
}

async function withoutFile(readDirectory: DirectoryReader, dirDigest: Digest, parts: string[]): Promise<ParamFile | undefined> {
  const dir = re.Directory.decode(await readDirectory(dirDigest));
  const [head, ...rest] = parts;
  if (rest.length === 0) {
    const i = dir.files.findIndex((f) => f.name === head);
    if (i < 0) return undefined;
    const digest = Digest.fromProto(dir.files[i].digest, dirDigest.fn);
    dir.files.splice(i, 1);
    return { digest, rootWithout: Digest.compute(encode(re.Directory, dir), dirDigest.fn) };
  }
  const child = dir.directories.find((d) => d.name === head);
  if (!child) return undefined;
  const sub = await withoutFile(readDirectory, Digest.fromProto(child.digest, dirDigest.fn), rest);
  if (!sub) return undefined;
  child.digest = sub.rootWithout.toProto();
  return { digest: sub.digest, rootWithout: Digest.compute(encode(re.Directory, dir), dirDigest.fn) };
}

function joinPath(cwd: string, p: string): string {
  return [...cwd.split('/'), ...p.split('/')].filter((s) => s !== '' && s !== '.').join('/');
}
