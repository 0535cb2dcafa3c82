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

  /** UNAUTHENTICATED for a missing or unknown token; PERMISSION_DENIED when a worker-only service is called by a client. */
  authenticate(metadata: Metadata, workerOnly = false): Principal | undefined {
    if (!this.tokens) return undefined;
    const header = metadata.get('authorization')[0];
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new StatusError(Code.UNAUTHENTICATED, 'missing "authorization: Bearer <token>" header (Bazel: --remote_header=authorization=Bearer <token>)');
    const principal = this.tokens.authenticate(m[1]);
    if (!principal) throw new StatusError(Code.UNAUTHENTICATED, 'the bearer token is not valid');
    if (workerOnly && principal.kind !== 'worker') throw new StatusError(Code.PERMISSION_DENIED, `"${principal.name}" is a client token; the worker protocol needs a worker token`);
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
