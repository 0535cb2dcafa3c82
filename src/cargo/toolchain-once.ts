import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DigestFunction } from '../digest/digest-function';
import { FileDigests } from '../client/file-digests';
import { withFileLock } from '../client/file-lock';
import { UploadBlob } from '../client/input-tree';
import { RemoteClient } from '../client/remote-client';

/** How long a toolchain counts as uploaded to a backend without asking it (FindMissingBlobs still checks each action). */
const UPLOADED_FRESH_MS = 60 * 60_000;

/**
 * The digest cache, with every toolchain file hashed. Cargo starts up to -j wrapper processes at once; with a cold
 * cache each would hash the ~490 MiB toolchain. The first takes a lock and hashes, the others wait and reuse its work.
 */
export async function hashToolchainOnce(digestsFile: string, fn: DigestFunction, files: string[]): Promise<FileDigests> {
  const digests = await FileDigests.open(digestsFile, fn);
  if (await digests.allKnown(files)) return digests;
  return withFileLock(`${digestsFile}.toolchain.lock`, async () => {
    const fresh = await FileDigests.open(digestsFile, fn); // what the lock's previous holder saved
    for (const f of files) await fresh.digest(f);
    await fresh.save();
    return fresh;
  });
}

/**
 * Uploads the toolchain's blobs the backend lacks, once per machine and backend: the first compile that misses the
 * cache uploads under a lock while the others of the build wait, instead of N processes sending the same ~490 MiB.
 * A marker remembers the upload for an hour; if the backend lost the blobs since, each action's own FindMissingBlobs
 * still finds and sends them.
 */
export async function uploadToolchainOnce(client: RemoteClient, cacheDir: string, blobs: UploadBlob[]): Promise<void> {
  if (blobs.length === 0) return;
  const key = createHash('sha256').update(`${client.address}\n${client.instance}\n${blobs.map((b) => b.digest.key).sort().join('\n')}`).digest('hex').slice(0, 16);
  const marker = path.join(cacheDir, `toolchain-uploaded-${key}`);
  const fresh = async () => {
    const st = await fsp.stat(marker).catch(() => undefined);
    return !!st && Date.now() - st.mtimeMs < UPLOADED_FRESH_MS;
  };
  if (await fresh()) return;
  await withFileLock(`${marker}.lock`, async () => {
    if (await fresh()) return;
    await client.upload(blobs);
    await fsp.writeFile(marker, '');
  });
}
