import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { InputTreeBuilder, UploadBlob } from '../client/input-tree';
import { re } from '../proto';
import { BackendAction } from './backend-action';

/** A backend action encoded for REAPI: the Action's digest and every blob the backend may lack. */
export interface BackendActionBlobs {
  digest: Digest;
  blobs: UploadBlob[];
}

/**
 * Encodes a backend action: a flat input root, `clang-N …` run in it with no environment (the worker's default
 * PATH finds clang-N), the outputs as plain names in that root, and the clang platform property on both Command
 * and Action (REAPI v2.2 moved it to the Action; older servers read the Command's).
 */
export function backendActionBlobs(action: BackendAction, fn: DigestFunction, salt?: Buffer): BackendActionBlobs {
  const tree = new InputTreeBuilder(fn);
  for (const i of action.inputs) {
    tree.add(i.name, i.digest, false, 'file' in i.source ? { digest: i.digest, file: i.source.file } : { digest: i.digest, data: i.source.data });
  }
  const { root, blobs } = tree.build();
  const platform = { properties: [...action.platform].sort((a, b) => (a.name < b.name ? -1 : 1)) };
  const command = blobOf(re.Command.encode(re.Command.create({ arguments: action.argv, outputFiles: action.outputs.map((o) => o.name).sort(), workingDirectory: '', platform })).finish(), fn);
  const act = blobOf(re.Action.encode(re.Action.create({ commandDigest: command.digest.toProto(), inputRootDigest: root.toProto(), platform, salt: salt?.length ? salt : undefined })).finish(), fn);
  return { digest: act.digest, blobs: [...blobs.values(), command, act] };
}

function blobOf(bytes: Uint8Array, fn: DigestFunction): { digest: Digest; data: Buffer } {
  const data = Buffer.from(bytes);
  return { digest: Digest.compute(data, fn), data };
}
