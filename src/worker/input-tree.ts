import { LRUCache } from 'lru-cache';
import { BlobStore } from '../blobstore/blob-store';
import { readBlob } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { invalidArgument, wrap } from '../grpc/status-error';
import { re, REv2 } from '../proto';
import { mapLimit } from '../util/map-limit';
import { missingBlobsError } from '../grpc/missing-blobs-error';
import { checkName, symlinkStaysInside } from './path-safety';
import { confirmedMissing } from '../blobstore/confirmed-missing';
import { InputProperties, inputProperties } from './node-properties';

export interface InputFile {
  /** Relative to the input root, '/'-separated. */
  path: string;
  digest: Digest;
  executable: boolean;
  /** NodeProperties the worker honours (mode, mtime): such a file gets its own inode, never the cache's. */
  props?: InputProperties;
}

/** A validated, fully known input tree: every path is safe and every blob exists in the CAS. */
export interface InputTree {
  /** Directories other than the root, parents before children. */
  dirs: string[];
  files: InputFile[];
  symlinks: { path: string; target: string; props?: InputProperties }[];
  /** Directories (the root is '') whose Directory message carries honoured NodeProperties. */
  dirProps: { path: string; props: InputProperties }[];
}

/** Decoded Directory messages shared across actions (toolchain trees repeat in every rustc action). */
export type DirectoryCache = LRUCache<string, REv2.Directory>;

const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

/**
 * Walks the whole tree level by level before anything is written, so unsafe trees are refused up front and
 * every missing blob (directories and files) is reported in one FAILED_PRECONDITION.
 */
export async function fetchInputTree(store: BlobStore, root: Digest, cache?: DirectoryCache, knownDirectories: Uint8Array[] = []): Promise<InputTree> {
  const tree: InputTree = { dirs: [], files: [], symlinks: [], dirProps: [] };
  const missing = new Map<string, Digest>();
  // Keyed by their own digest: a blob that is not part of this tree is simply never looked up.
  const known = new Map(knownDirectories.map((b) => [Digest.compute(b, root.fn).key, b]));
  let level: { path: string; digest: Digest }[] = [{ path: '', digest: root }];
  while (level.length > 0) {
    for (const l of level) {
      const b = known.get(l.digest.key);
      if (b && !cache?.has(l.digest.key)) cache?.set(l.digest.key, decodeDirectory(b, l.digest));
    }
    const unique = [...new Map(level.filter((l) => !cache?.has(l.digest.key) && !known.has(l.digest.key)).map((l) => [l.digest.key, l.digest])).values()];
    const absent = new Set((await confirmedMissing(store, unique)).map((d) => d.key));
    for (const d of unique) if (absent.has(d.key)) missing.set(d.key, d);
    const present = unique.filter((d) => !absent.has(d.key));
    const decoded = new Map<string, REv2.Directory>();
    await mapLimit(present, 32, async (d) => decoded.set(d.key, await readDirectory(store, d)));
    const next: typeof level = [];
    for (const { path, digest } of level) {
      const k = known.get(digest.key);
      const dir = cache?.get(digest.key) ?? decoded.get(digest.key) ?? (k && decodeDirectory(k, digest));
      if (!dir) continue; // missing: reported below
      if (decoded.has(digest.key)) cache?.set(digest.key, dir);
      addEntries(tree, next, path, dir, digest);
    }
    level = next;
  }
  const files = [...new Map(tree.files.map((f) => [f.digest.key, f.digest])).values()];
  for (const d of await confirmedMissing(store, files)) missing.set(d.key, d);
  if (missing.size > 0) throw missingBlobsError([...missing.values()], 'input blob');
  checkSymlinks(tree);
  return tree;
}

async function readDirectory(store: BlobStore, digest: Digest): Promise<REv2.Directory> {
  try {
    return decodeDirectory(await readBlob(store, digest, MAX_DIRECTORY_BYTES), digest);
  } catch (err) {
    throw wrap(err, `reading input Directory ${digest}`);
  }
}

function decodeDirectory(bytes: Uint8Array, digest: Digest): REv2.Directory {
  try {
    return re.Directory.decode(bytes);
  } catch (err) {
    throw invalidArgument(`input Directory ${digest} is not a valid Directory message: ${(err as Error).message}`);
  }
}

function addEntries(tree: InputTree, next: { path: string; digest: Digest }[], dirPath: string, dir: REv2.Directory, digest: Digest): void {
  const where = `directory "${dirPath || '.'}" (${digest})`;
  const seen = new Set<string>();
  const join = (name: string, kind: string) => {
    checkName(name, `a ${kind} in ${where}`);
    if (seen.has(name)) throw invalidArgument(`unsafe input tree: ${where} lists "${name}" more than once`);
    seen.add(name);
    return dirPath ? `${dirPath}/${name}` : name;
  };
  const dirProps = inputProperties(dir.nodeProperties, 'directory', `"${dirPath || '.'}"`);
  if (dirProps) tree.dirProps.push({ path: dirPath, props: dirProps });
  for (const f of dir.files) {
    const path = join(f.name ?? '', 'file');
    const props = inputProperties(f.nodeProperties, 'file', `"${path}"`);
    tree.files.push({ path, digest: Digest.fromProto(f.digest, digest.fn, `digest of input file "${path}"`), executable: !!f.isExecutable, ...(props && { props }) });
  }
  for (const d of dir.directories) {
    const path = join(d.name ?? '', 'directory');
    tree.dirs.push(path);
    next.push({ path, digest: Digest.fromProto(d.digest, digest.fn, `digest of input directory "${path}"`) });
  }
  for (const s of dir.symlinks) {
    const path = join(s.name ?? '', 'symlink');
    if (!s.target) throw invalidArgument(`unsafe input tree: symlink "${path}" has an empty target`);
    const props = inputProperties(s.nodeProperties, 'symlink', `"${path}"`);
    tree.symlinks.push({ path, target: s.target, ...(props && { props }) });
  }
}

function checkSymlinks(tree: InputTree): void {
  const all = new Map(tree.symlinks.map((s) => [s.path, s.target]));
  for (const s of tree.symlinks) {
    const parent = s.path.split('/').slice(0, -1);
    if (!symlinkStaysInside(parent, s.target, all)) {
      throw invalidArgument(`unsafe input tree: symlink "${s.path}" -> "${s.target}" points outside the input root (or loops)`);
    }
  }
}
