import { invalidArgument } from '../grpc/status-error';
import { re } from '../proto';

/** REAPI Compressor.Value of the one compressor this server speaks besides identity. */
export const ZSTD = re.Compressor.Value.ZSTD;

/** Level for what the server compresses on the fly (reads): the fast end, see the README's measurements. */
export const ZSTD_SERVE_LEVEL = 1;

/** Batch responses compress a blob only from this size on: below it, a zstd frame rarely pays for its header. */
export const MIN_COMPRESS_BYTES = 256;

/** Validates a ByteStream `compressed-blobs/{compressor}` segment; only "zstd" is served. */
export function checkCompressorSegment(name: string): 'zstd' {
  if (name === 'zstd') return name;
  throw invalidArgument(`compressor "${name}" is not supported in compressed-blobs (supported: zstd)`);
}

/** Validates a Batch request's `compressor` field: IDENTITY (0) or ZSTD. */
export function checkCompressorValue(value: number, what: string): void {
  if (value === re.Compressor.Value.IDENTITY || value === ZSTD) return;
  const name = (re.Compressor.Value as unknown as Record<number, string>)[value]?.toLowerCase() ?? String(value);
  throw invalidArgument(`${what}: compressor ${name} is not supported (supported: identity, zstd)`);
}
