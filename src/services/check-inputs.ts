import { BlobStore } from '../blobstore/blob-store';
import { readBlob } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { re } from '../proto';

export interface InputCheck {
  /** Every directory or file blob of the tree that is not in the CAS. */
  missing: Digest[];
  /** The encoded Directory messages read on the way, by digest key (for later reads of the tree, and the worker). */
  directories: Map<string, Buffer>;
  /** Distinct file blobs of the tree, and their bytes (what a worker with an empty cache would fetch). */
  files: number;
  fileBytes: number;
}

/** Walks the input root and finds every blob of it that is not in the CAS. */
export async function checkInputs(cas: BlobStore, root: Digest): Promise<InputCheck> {
  const missing: Digest[] = [];
  const directories = new Map<string, Buffer>();
  const files = new Map<string, Digest>();
  const seen = new Set<string>();
  let level: Digest[] = [root];
  while (level.length > 0) {
    const next: Digest[] = [];
    const absent = new Set((await cas.findMissing(level)).map((d) => d.key));
    for (const d of level) {
      if (absent.has(d.key)) {
        missing.push(d);
        continue;
      }
      const bytes = await readBlob(cas, d);
      directories.set(d.key, bytes);
      const dir = re.Directory.decode(bytes);
      for (const f of dir.files) {
        const fd = Digest.fromProto(f.digest, root.fn, `file ${f.name} in directory ${d}`);
        files.set(fd.key, fd);
      }
      for (const c of dir.directories) {
        const cd = Digest.fromProto(c.digest, root.fn, `directory ${c.name} in directory ${d}`);
        if (!seen.has(cd.key)) {
          seen.add(cd.key);
          next.push(cd);
        }
      }
    }
    level = next;
  }
  missing.push(...(await cas.findMissing([...files.values()])));
  let fileBytes = 0;
  for (const f of files.values()) fileBytes += f.size;
  return { missing, directories, files: files.size, fileBytes };
}
