import { createHash } from 'node:crypto';
import { BlobStore } from '../blobstore/blob-store';
import { readBlob } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { encode, re, REv2 } from '../proto';
import { joinPath } from './crate-deps';
import { RustcCommand } from './rustc-command';

/**
 * The key a crate's RustcMetadata and Rustc actions share, or undefined when the action cannot be paired. Two actions
 * get the same key only if they run the same invocation (argv without the quit flag, same env, working directory and
 * platform), their param files have the same content, and everything else in their input roots is identical.
 */
export async function pairKey(cas: BlobStore, action: REv2.IAction, command: REv2.ICommand, rc: RustcCommand, root: Digest): Promise<string | undefined> {
  if (!rc.pairArgv || !rc.paramFile || !rc.rmetaPath) return undefined;
  const paramPath = joinPath(command.workingDirectory ?? '', rc.paramFile);
  const stripped = await withoutFile(cas, root, paramPath.split('/'));
  if (!stripped) return undefined;
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      argv: rc.pairArgv,
      env: (command.environmentVariables ?? []).map((v) => [v.name, v.value]),
      cwd: command.workingDirectory ?? '',
      platform: (action.platform ?? command.platform)?.properties?.map((p) => [p.name, p.value]) ?? [],
      crate: rc.rmetaPath.replace(/\.rmeta$/, ''),
      params: stripped.removed.toString(),
      inputs: stripped.root.toString(),
      salt: Buffer.from(action.salt ?? []).toString('hex'),
    }),
  );
  return h.digest('hex');
}

/** The digest the input root would have without the file at `parts`, and that file's digest; undefined if absent. */
async function withoutFile(cas: BlobStore, dirDigest: Digest, parts: string[]): Promise<{ root: Digest; removed: Digest } | undefined> {
  const dir = re.Directory.decode(await readBlob(cas, dirDigest));
  const [head, ...rest] = parts;
  if (rest.length === 0) {
    const i = dir.files.findIndex((f) => f.name === head);
    if (i < 0) return undefined;
    const removed = Digest.fromProto(dir.files[i].digest, dirDigest.fn);
    dir.files.splice(i, 1);
    return { root: Digest.compute(encode(re.Directory, dir), dirDigest.fn), removed };
  }
  const child = dir.directories.find((d) => d.name === head);
  if (!child) return undefined;
  const sub = await withoutFile(cas, Digest.fromProto(child.digest, dirDigest.fn), rest);
  if (!sub) return undefined;
  child.digest = sub.root.toProto();
  return { root: Digest.compute(encode(re.Directory, dir), dirDigest.fn), removed: sub.removed };
}
