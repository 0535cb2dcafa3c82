import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { encode, re, REv2 } from '../proto';
import { digestFile, PendingBlob } from './blob-uploader';
import { lstatExact, NO_PROPERTIES, reportedProperties, WantedProperties } from './node-properties';

export interface BuiltTree {
  tree: REv2.Tree;
  treeDigest: Digest;
  rootDigest: Digest;
  /** Every file, the Tree message and each Directory message. */
  blobs: PendingBlob[];
}

/** Turns an output directory into a REAPI Tree: entries sorted by name, symlinks kept (never followed). */
export async function buildOutputTree(dir: string, fn: DigestFunction, wanted: WantedProperties = NO_PROPERTIES): Promise<BuiltTree> {
  const blobs: PendingBlob[] = [];
  const children = new Map<string, REv2.Directory>();
  const root = await buildDirectory(dir, fn, blobs, children, wanted);
  const tree = re.Tree.create({ root: root.message, children: [...children.values()] });
  const treeBytes = encode(re.Tree, tree);
  const treeDigest = Digest.compute(treeBytes, fn);
  blobs.push({ digest: treeDigest, data: treeBytes }, { digest: root.digest, data: root.bytes });
  return { tree, treeDigest, rootDigest: root.digest, blobs };
}

async function buildDirectory(
  dir: string,
  fn: DigestFunction,
  blobs: PendingBlob[],
  children: Map<string, REv2.Directory>,
  wanted: WantedProperties,
): Promise<{ message: REv2.Directory; digest: Digest; bytes: Buffer }> {
  const entries = (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const props = async (p: string) => (wanted.mtime || wanted.unixMode ? reportedProperties(await lstatExact(p), wanted) : null);
  const message = re.Directory.create({ nodeProperties: await props(dir) });
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile()) {
      const digest = await digestFile(p, fn);
      const { mode } = await fsp.stat(p);
      blobs.push({ digest, file: p });
      message.files.push(re.FileNode.create({ name: e.name, digest: digest.toProto(), isExecutable: (mode & 0o100) !== 0, nodeProperties: await props(p) }));
    } else if (e.isDirectory()) {
      const child = await buildDirectory(p, fn, blobs, children, wanted);
      children.set(child.digest.key, child.message);
      blobs.push({ digest: child.digest, data: child.bytes });
      message.directories.push(re.DirectoryNode.create({ name: e.name, digest: child.digest.toProto() }));
    } else if (e.isSymbolicLink()) {
      message.symlinks.push(re.SymlinkNode.create({ name: e.name, target: await fsp.readlink(p), nodeProperties: await props(p) }));
    }
    // Sockets, FIFOs and devices have no REAPI representation and are left out.
  }
  const bytes = encode(re.Directory, message);
  return { message, digest: Digest.compute(bytes, fn), bytes };
}
