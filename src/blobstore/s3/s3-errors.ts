import { Code, StatusError } from '../../grpc/status-error';

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound']);
/** Answers that say "fix the deployment", not "try again". */
const CONFIG_CODES = new Set(['NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidBucketName', 'AuthorizationHeaderMalformed']);

export function isS3NotFound(err: unknown): boolean {
  return NOT_FOUND_CODES.has((err as { code?: unknown })?.code as string);
}

/**
 * Translates a minio/S3/socket error into a gRPC status with `context` (which operation, which key).
 * Anything that is not a definite answer from S3 — refused or reset connections, timeouts, 5xx, SlowDown — is
 * UNAVAILABLE, because retrying later is the right reaction; a rejected configuration is FAILED_PRECONDITION.
 */
export function s3StatusError(err: unknown, context: string): StatusError {
  if (err instanceof StatusError) return new StatusError(err.code, `${context}: ${err.message}`, err.details);
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  if (NOT_FOUND_CODES.has(code)) return new StatusError(Code.NOT_FOUND, `${context}: not found in S3`);
  if (code === 'InvalidRange') return new StatusError(Code.OUT_OF_RANGE, `${context}: ${message}`);
  if (CONFIG_CODES.has(code)) {
    return new StatusError(Code.FAILED_PRECONDITION, `${context}: S3 refused the request (${code}: ${message}); check the bucket name and credentials in the s3 config`);
  }
  return new StatusError(Code.UNAVAILABLE, `${context}: S3 unavailable (${code || 'error'}: ${message}); retry later`);
}
