import { ActionCache } from '../actioncache/action-cache';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { re } from '../proto';

/**
 * Remote Asset mappings kept in the instance's action cache, so they persist and share its eviction and its
 * completeness check (an entry whose blob left the CAS reads as absent). Each mapping is an ActionResult with one
 * output file under a key digest of "asset\n{what}", hashed with the blob's digest function.
 */
export class AssetIndex {
  constructor(private readonly ac: ActionCache) {}

  /** The key of `uri` with `qualifiers` (order-insensitive): what Push records and Fetch looks up. */
  static uriKey(uri: string, qualifiers: { name?: string | null; value?: string | null }[]): string {
    const q = qualifiers.map((x) => `${x.name ?? ''}=${x.value ?? ''}`).sort();
    return `uri\n${uri}\n${q.join('\n')}`;
  }

  /** The key of content known by checksum, whatever URL it came from. */
  static checksumKey(fn: DigestFunction, hex: string): string {
    return `checksum\n${fn.name}\n${hex}`;
  }

  async lookup(key: string, fn: DigestFunction): Promise<Digest | undefined> {
    const result = await this.ac.get(this.keyDigest(key, fn));
    const d = result?.outputFiles[0]?.digest;
    return d ? Digest.fromProto(d, fn, 'asset mapping') : undefined;
  }

  async record(key: string, digest: Digest): Promise<void> {
    await this.ac.put(this.keyDigest(key, digest.fn), re.ActionResult.create({ outputFiles: [{ path: 'asset', digest: digest.toProto() }], exitCode: 0 }));
  }

  private keyDigest(key: string, fn: DigestFunction): Digest {
    return Digest.compute(Buffer.from(`asset\n${key}`), fn);
  }
}
