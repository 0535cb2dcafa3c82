import { AsyncLocalStorage } from 'node:async_hooks';
import type { Metadata } from '@grpc/grpc-js';
import { Code, StatusError } from '../grpc/status-error';
import { Principal, TokenStore } from './token-store';

/**
 * Checks bearer tokens at the service boundary and remembers the caller for the rest of the request, so that
 * instance lookups can refuse instances the token is not allowed on. Without a token store everything is allowed.
 */
export class Authenticator {
  private readonly current = new AsyncLocalStorage<Principal>();

  constructor(private readonly tokens: TokenStore | undefined) {}

  get enabled(): boolean {
    return this.tokens !== undefined;
  }

  /**
   * A gRPC call's caller. UNAUTHENTICATED for a missing or unknown token; PERMISSION_DENIED when a worker-only service
   * is called by a client, or for a metrics or viewer token (they are for the HTTP side port only).
   */
  authenticate(metadata: Metadata, workerOnly = false, certificate?: string): Principal | undefined {
    if (!this.tokens) return undefined;
    const header = metadata.get('authorization')[0];
    // A verified client certificate listed in the auth file identifies the caller; otherwise the bearer token does.
    const byCert = certificate !== undefined ? this.tokens.byCertificate(certificate) : undefined;
    const hint = certificate !== undefined ? `(the client certificate CN=${JSON.stringify(certificate)} is not listed in the auth file)` : '(Bazel: --remote_header=authorization=Bearer <token>)';
    const principal = byCert ?? this.bearer(typeof header === 'string' ? header : undefined, hint);
    if (principal.kind === 'metrics') throw new StatusError(Code.PERMISSION_DENIED, `"${principal.name}" is a metrics token; it is valid only for the HTTP side port's /metrics`);
    if (principal.kind === 'viewer') throw new StatusError(Code.PERMISSION_DENIED, `"${principal.name}" is a viewer token; it is valid only for the dashboard on the HTTP side port`);
    if (workerOnly && principal.kind !== 'worker') throw new StatusError(Code.PERMISSION_DENIED, `"${principal.name}" is a client token; the worker protocol needs a worker token`);
    return principal;
  }

  /**
   * Who a call is from, for per-client limits: the name of the principal its certificate or bearer token stands for,
   * or undefined without auth or when neither is valid (the call is refused by `authenticate` anyway).
   */
  identify(metadata: Metadata, certificate?: string): string | undefined {
    if (!this.tokens) return undefined;
    const byCert = certificate !== undefined ? this.tokens.byCertificate(certificate) : undefined;
    if (byCert) return byCert.name;
    const header = metadata.get('authorization')[0];
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return m ? this.tokens.authenticate(m[1])?.name : undefined;
  }

  /** The caller for an HTTP `Authorization` header value (any kind of token); UNAUTHENTICATED when missing or unknown. */
  bearer(header: string | undefined, hint = ''): Principal {
    if (!this.tokens) throw new StatusError(Code.UNAUTHENTICATED, 'no tokens are configured');
    const m = header !== undefined ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new StatusError(Code.UNAUTHENTICATED, `missing "authorization: Bearer <token>" header${hint ? ` ${hint}` : ''}`);
    const principal = this.tokens.authenticate(m[1]);
    if (!principal) throw new StatusError(Code.UNAUTHENTICATED, 'the bearer token is not valid');
    return principal;
  }

  /** Runs `fn` (and everything asynchronous it starts) as `principal`. */
  run<T>(principal: Principal | undefined, fn: () => T): T {
    return principal ? this.current.run(principal, fn) : fn();
  }

  /** PERMISSION_DENIED unless the current caller may use `instance`. */
  checkInstance(instance: string): void {
    if (!this.tokens) return;
    const p = this.current.getStore();
    if (!p) throw new StatusError(Code.UNAUTHENTICATED, 'request is not authenticated');
    if (!p.instances.has('*') && !p.instances.has(instance)) {
      throw new StatusError(Code.PERMISSION_DENIED, `token "${p.name}" is not allowed on instance "${instance}"`);
    }
  }
}
