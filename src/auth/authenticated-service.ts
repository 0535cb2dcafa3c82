import type { Metadata, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import { logFailure } from '../grpc/handlers';
import { toServiceError } from '../grpc/rpc-status';
import { Authenticator } from './authenticator';

type AnyCall = { metadata: Metadata; emit(event: 'error', err: unknown): boolean; end?: () => void; getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } };

/** The common name of the caller's client certificate, when it presented one that verified against the client CA. */
export function certificateName(call: Pick<AnyCall, 'getAuthContext'>): string | undefined {
  const cn = call.getAuthContext?.().sslPeerCertificate?.subject?.CN;
  return typeof cn === 'string' ? cn : Array.isArray(cn) ? cn[0] : undefined;
}

/** Wraps every handler of a service: authenticate first, then run the handler as that principal. */
export function authenticated(impl: UntypedServiceImplementation, auth: Authenticator, logger: Logger, workerOnly = false): UntypedServiceImplementation {
  if (!auth.enabled) return impl;
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    out[name] = ((call: AnyCall, callback?: (err: ServiceError) => void) => {
      let principal;
      try {
        principal = auth.authenticate(call.metadata, workerOnly, certificateName(call));
      } catch (err) {
        logFailure(logger, name, err);
        const e = toServiceError(err) as ServiceError;
        if (callback) callback(e);
        else call.emit('error', e);
        return;
      }
      auth.run(principal, () => (handler as Function)(call, callback));
    }) as never;
  }
  return out;
}
