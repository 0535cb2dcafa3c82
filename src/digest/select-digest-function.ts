import { invalidArgument } from '../grpc/status-error';
import { DigestFunction, digestFunctionById, digestFunctionLabel } from './digest-function';

/**
 * The digest function of one request (REAPI 2.3). A `digest_function` field (or a ByteStream resource-name segment)
 * selects it and must be one of `accepted`; when absent, the function is inferred from the hash length among the
 * functions REAPI allows to be inferred, preferring the instance's default (so an instance whose default is BLAKE3
 * serves clients that never name it).
 */
export function selectDigestFunction(
  accepted: readonly DigestFunction[],
  fallback: DigestFunction,
  requested: number | null | undefined,
  hashLength: number | undefined,
  instanceName: string,
): DigestFunction {
  if (requested) {
    const fn = digestFunctionById(requested);
    if (!fn) throw invalidArgument(`digest_function ${digestFunctionLabel(requested)} is not supported by this server (supported: ${names(accepted)})`);
    if (!accepted.includes(fn)) throw invalidArgument(`digest_function ${digestFunctionLabel(requested)} is not enabled for instance "${instanceName}" (enabled: ${names(accepted)})`);
    return fn;
  }
  if (hashLength === undefined || hashLength === fallback.hexLength) return fallback;
  return accepted.find((f) => f.inferredFromLength && f.hexLength === hashLength) ?? fallback;
}

function names(fns: readonly DigestFunction[]): string {
  return fns.map((f) => f.name).join(', ');
}
