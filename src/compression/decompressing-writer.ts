import { BlobWriter } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { BoundedZstdDecoder } from './zstd';

/**
 * Accepts a zstd stream and writes what it decompresses to `inner` (which verifies size and hash as ever).
 * `committedSize` counts compressed bytes, which is what ByteStream offsets and committed_size of a
 * `compressed-blobs` upload refer to; the decoder's state survives between streams, so the upload is resumable.
 */
export class DecompressingWriter implements BlobWriter {
  private readonly decoder: BoundedZstdDecoder;
  private compressedBytes = 0;

  constructor(
    private readonly inner: BlobWriter,
    digest: Digest,
  ) {
    this.decoder = new BoundedZstdDecoder(digest.size, `compressed upload of ${digest}`);
  }

  get committedSize(): number {
    return this.compressedBytes;
  }

  async write(chunk: Buffer): Promise<void> {
    for (const part of this.decoder.push(chunk)) await this.inner.write(part);
    this.compressedBytes += chunk.byteLength;
  }

  async commit(): Promise<void> {
    this.decoder.finish();
    await this.inner.commit();
  }

  abort(): Promise<void> {
    return this.inner.abort();
  }
}
