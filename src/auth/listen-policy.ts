import type { Logger } from 'pino';
import { ConfigError } from '../config/config-reader';
import { parseListenAddress } from '../grpc/listen-address';

/**
 * The one rule for every listener (gRPC and the HTTP side port): a non-loopback address needs authentication, or an
 * explicit --insecure (then logged loudly). Remote execution is remote code execution: an open port on the network lets
 * anyone run commands on the workers. Returns the parsed address; the warning is logged when `logger` is given.
 */
export function allowedListenAddress(listen: string, security: { authEnabled: boolean; insecure: boolean }, logger: Logger | undefined, what: string): { host: string; port: number; loopback: boolean } {
  const address = parseListenAddress(listen);
  if (!address.loopback && !security.authEnabled) {
    if (!security.insecure) throw new ConfigError(`refusing to listen on ${listen} without authentication (${what}): set auth.tokensFile (or --tokens), or pass --insecure`);
    logger?.warn({ listen, what }, 'INSECURE: listening on a non-loopback address without authentication; anyone who can reach it can run commands on the workers');
  }
  return address;
}
