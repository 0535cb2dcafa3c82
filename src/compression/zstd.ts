import * as binding from 'zstd-napi/binding';
import { invalidArgument } from '../grpc/status-error';

/** Largest window a client's frame may ask for (128 MiB, zstd's default limit): bounds decoder memory. */
const WINDOW_LOG_MAX = 27;
/** Decompressed bytes per output buffer: large enough that allocation and per-call overhead stay small. */
const OUT_CHUNK = 1024 * 1024;

/**
 * Streaming zstd decompression that never produces more than `expectedSize` bytes: a stream that decompresses to
 * more (a lying client, or a zstd bomb) fails at the first excess byte, before it is buffered. Errors are
 * INVALID_ARGUMENT: the client sent them.
 */
export class BoundedZstdDecoder {
  private readonly dctx = new binding.DCtx();
  private produced = 0;
  /** Between frames (nothing pending): where a stream may legally end. */
  private atFrameEnd = true;

  constructor(
    private readonly expectedSize: number,
    private readonly what: string,
  ) {
    this.dctx.setParameter(binding.DParameter.windowLogMax, WINDOW_LOG_MAX);
  }

  get bytesOut(): number {
    return this.produced;
  }

  /** Decompresses one chunk of the compressed stream; returns the bytes it yields (possibly none). */
  push(compressed: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let src = compressed;
    for (;;) {
      // Never ask for more than one byte past what may still come, so an excess is detected without buffering it.
      const room = Math.min(OUT_CHUNK, this.expectedSize - this.produced + 1);
      const dst = Buffer.allocUnsafe(room);
      let ret: number;
      let produced: number;
      let consumed: number;
      try {
        [ret, produced, consumed] = this.dctx.decompressStream(dst, src);
      } catch (err) {
        throw invalidArgument(`${this.what}: the zstd stream is corrupt after ${this.produced} uncompressed bytes (${(err as Error).message})`);
      }
      this.produced += produced;
      if (this.produced > this.expectedSize) throw invalidArgument(`${this.what}: the zstd stream decompresses to more than the ${this.expectedSize} bytes of its digest`);
      if (produced > 0) out.push(dst.subarray(0, produced));
      src = src.subarray(consumed);
      this.atFrameEnd = ret === 0;
      // Done with this input once it is consumed and the decoder did not fill its output (so it holds nothing back).
      if (src.byteLength === 0 && produced < room) return out;
      if (src.byteLength === 0 && ret === 0) return out;
    }
  }

  /** The stream ended: it must have ended on a frame boundary. */
  finish(): void {
    if (!this.atFrameEnd) throw invalidArgument(`${this.what}: the zstd stream ends in the middle of a frame (after ${this.produced} uncompressed bytes)`);
  }
}

/** Decompresses a whole (batch) payload, which must be exactly `expectedSize` bytes once decompressed. */
export function decompressExactly(compressed: Uint8Array, expectedSize: number, what: string): Buffer {
  const d = new BoundedZstdDecoder(expectedSize, what);
  const parts = d.push(compressed);
  d.finish();
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, d.bytesOut);
}

/** One-shot compression of a buffer. */
export function compressBuffer(data: Uint8Array, level: number): Buffer {
  const dst = Buffer.allocUnsafe(binding.compressBound(data.byteLength));
  const n = binding.compress(dst, data, level);
  return dst.subarray(0, n);
}

/** Compresses a stream of chunks into one zstd frame, yielding compressed chunks as they fill. */
export async function* compressChunks(source: AsyncIterable<Buffer>, level: number): AsyncGenerator<Buffer> {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, level);
  const outSize = binding.cStreamOutSize();
  const drain = function* (src: Buffer, end: boolean): Generator<Buffer> {
    for (;;) {
      const dst = Buffer.allocUnsafe(outSize);
      const [remaining, produced, consumed] = cctx.compressStream2(dst, src, end ? binding.EndDirective.end : binding.EndDirective.continue);
      if (produced > 0) yield dst.subarray(0, produced);
      src = src.subarray(consumed);
      if (end ? remaining === 0 : src.byteLength === 0) return;
    }
  };
  for await (const chunk of source) yield* drain(chunk, false);
  yield* drain(Buffer.alloc(0), true);
}
