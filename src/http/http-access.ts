import type { Authenticator } from '../auth/authenticator';
import type { Principal } from '../auth/token-store';
import type { RouteAccess } from './http-routes';

/** A loopback peer (IPv4, IPv6, or IPv4-mapped IPv6). */
export function isLoopbackPeer(remoteAddress: string | undefined): boolean {
  if (!remoteAddress) return false;
  const a = remoteAddress.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\./.test(a);
}

/**
 * Who is calling a route, by its access rule (see RouteAccess); throws UNAUTHENTICATED (a StatusError) when a token is
 * needed and missing or wrong. A token sent where none is needed is still checked, so handlers can rely on `principal`.
 */
export function authorizeHttp(access: RouteAccess, auth: Authenticator, remoteAddress: string | undefined, header: string | undefined): Principal | undefined {
  if (access === 'public' || !auth.enabled) return undefined;
  if (access === 'local-or-token' && isLoopbackPeer(remoteAddress) && header === undefined) return undefined;
  return auth.bearer(header);
}
