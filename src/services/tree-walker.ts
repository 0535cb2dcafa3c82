import { BlobStore } from '../blobstore/blob-store';
import { readBlob } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { Code, StatusError, wrap } from '../grpc/status-error';
import { re, REv2 } from '../proto';

export interface TreePage {
  directories: REv2.Directory[];
  /** Resumes after this page; empty on the last page. */
  nextPageToken: string;
}

/**
 * Breadth-first walk of a Directory tree, each distinct directory once, in pages. A page token is the walk position
 * to resume at; resuming re-walks up to that point, which keeps tokens small and the server stateless. As the spec
 * asks, a missing root is NOT_FOUND while a missing subdirectory is omitted (with everything below it).
 */
export async function* walkTree(cas: BlobStore, root: Digest, pageSize: number, pageToken: string): AsyncGenerator<TreePage> {
  let skip = 0;
  if (pageToken) {
    const m = /^o(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString());
    if (!m) throw new StatusError(Code.INVALID_ARGUMENT, `page_token "${pageToken}" was not issued by this server`);
    skip = Number(m[1]);
  }
  const seen = new Set<string>([root.key]);
  const queue: Digest[] = [root];
  let page: REv2.Directory[] = [];
  for (let i = 0; i < queue.length; i++) {
    const d = queue[i];
    let bytes: Buffer;
    try {
      bytes = await readBlob(cas, d);
    } catch (err) {
      if (err instanceof StatusError && err.code === Code.NOT_FOUND) {
        if (i === 0) throw new StatusError(Code.NOT_FOUND, `root directory ${root} of the tree not found`);
        continue;
      }
      throw wrap(err, `directory ${d} of tree ${root}`);
    }
    let dir: REv2.Directory;
    try {
      dir = re.Directory.decode(bytes);
    } catch (err) {
      throw new StatusError(Code.INVALID_ARGUMENT, `directory ${d} of tree ${root} is not a Directory message: ${(err as Error).message}`);
    }
    for (const [j, child] of dir.directories.entries()) {
      const cd = Digest.fromProto(child.digest, root.fn, `directory ${d}: directories[${j}].digest`);
      if (!seen.has(cd.key)) {
        seen.add(cd.key);
        queue.push(cd);
      }
    }
    if (i < skip) continue;
    page.push(dir);
    if (page.length === pageSize && i + 1 < queue.length) {
      yield { directories: page, nextPageToken: Buffer.from(`o${i + 1}`).toString('base64url') };
      page = [];
    }
  }
  yield { directories: page, nextPageToken: '' };
}
