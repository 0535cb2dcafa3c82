import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { DirectoryCache, fetchInputTree, InputFile, InputTree } from './input-tree';
import { applyProperties } from './node-properties';
import { FileCache } from './file-cache';
import { mapLimit } from '../util/map-limit';

export interface InputRootOptions {
  fileCache: FileCache;
  directoryCache?: DirectoryCache;
  /** Parallel file placements (downloads share this limit). */
  concurrency?: number;
}

/** Materialises an action's input root from the CAS: hardlinks from the file cache, real directories, symlinks. */
export class InputRoot {
  constructor(private readonly options: InputRootOptions) {}

  /**
   * Fills `dir` (created here; must not exist yet) with the tree of `root`. The whole tree is validated and
   * checked for missing blobs first, so a refused tree writes nothing at all. `knownDirectories` (encoded Directory
   * messages the scheduler already read) are used instead of fetching them.
   */
  async materialize(store: BlobStore, root: Digest, dir: string, signal?: AbortSignal, knownDirectories: Uint8Array[] = []): Promise<InputTree> {
    const tree = await fetchInputTree(store, root, this.options.directoryCache, knownDirectories);
    signal?.throwIfAborted();
    await fsp.mkdir(dir);
    // Parents precede children in tree.dirs, and only validated single components are joined.
    for (const d of tree.dirs) await fsp.mkdir(path.join(dir, d));
    await mapLimit(tree.files, this.options.concurrency ?? 16, async (f) => {
      signal?.throwIfAborted();
      const dest = path.join(dir, f.path);
      if (!ownInode(f)) return this.options.fileCache.link(store, f.digest, f.executable, dest);
      await this.options.fileCache.copy(store, f.digest, f.executable, dest);
      await applyProperties(dest, { mode: f.props?.mode ?? FileCache.modeOf(f.executable), mtime: f.props?.mtime });
    });
    for (const s of tree.symlinks) {
      await fsp.symlink(s.target, path.join(dir, s.path));
      if (s.props) await applyProperties(path.join(dir, s.path), s.props, true);
    }
    return tree;
  }

  /**
   * Gives directories the mode and mtime their Directory messages ask for. Last, after everything else was created in
   * them (output parents included), since each new entry changes a directory's mtime; deepest first.
   */
  async finishDirectories(dir: string, tree: InputTree): Promise<void> {
    const byDepth = [...tree.dirProps].sort((a, b) => depth(b.path) - depth(a.path));
    for (const d of byDepth) await applyProperties(path.join(dir, d.path), d.props);
  }
}

/** Whether the file needs an inode of its own: a mode or mtime the shared cached file does not have. */
export function ownInode(f: InputFile): boolean {
  return !!f.props && (f.props.mtime !== undefined || (f.props.mode !== undefined && f.props.mode !== FileCache.modeOf(f.executable)));
}

function depth(p: string): number {
  return p === '' ? 0 : p.split('/').length;
}
