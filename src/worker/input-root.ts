import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { DirectoryCache, fetchInputTree, InputTree } from './input-tree';
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
      await this.options.fileCache.link(store, f.digest, f.executable, path.join(dir, f.path));
    });
    for (const s of tree.symlinks) await fsp.symlink(s.target, path.join(dir, s.path));
    return tree;
  }
}
