import { mkdtempSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../../src/blobstore/blob-store';
import { putBlob } from '../../src/blobstore/blob-io';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { encode, re, REv2 } from '../../src/proto';

export function tempDir(prefix = 'worker-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function putBytes(store: BlobStore, data: Buffer | string): Promise<Digest> {
  const buf = Buffer.from(data);
  const digest = Digest.compute(buf, SHA256);
  await putBlob(store, digest, buf);
  return digest;
}

export async function putDirectory(store: BlobStore, dir: REv2.IDirectory): Promise<Digest> {
  return putBytes(store, encode(re.Directory, re.Directory.create(dir)));
}

export function digestOf(data: Buffer | string): Digest {
  return Digest.compute(Buffer.from(data), SHA256);
}

export function file(name: string, digest: Digest, isExecutable = false): REv2.IFileNode {
  return { name, digest: digest.toProto(), isExecutable };
}

export function dirNode(name: string, digest: Digest): REv2.IDirectoryNode {
  return { name, digest: digest.toProto() };
}

/** A memory store that counts reads and can slow them down, to observe download deduplication. */
export class CountingStore implements BlobStore {
  readonly inner = new MemoryBlobStore(256 * 1024 * 1024);
  gets = 0;

  constructor(private readonly delayMs = 0) {}

  findMissing(digests: Digest[]): Promise<Digest[]> {
    return this.inner.findMissing(digests);
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    this.gets++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.inner.get(digest, options);
  }

  async open(digest: Digest): Promise<BlobReader> {
    this.gets++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.inner.open(digest);
  }

  createWriter(digest: Digest): Promise<BlobWriter> {
    return this.inner.createWriter(digest);
  }
}

/** Entries of a directory, recursively, as sorted relative paths (to prove nothing was written). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      out.push(path.join(rel, e.name));
      if (e.isDirectory()) await walk(path.join(d, e.name), path.join(rel, e.name));
    }
  };
  await walk(dir, '');
  return out.sort();
}
