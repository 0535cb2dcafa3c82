import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/token-store';

/**
 * Who may call a route on the HTTP side port (the same token file as gRPC; see README "HTTP side port"):
 * - `public`: anyone, never a token (liveness and readiness probes: kubelets send none);
 * - `local-or-token`: no token from a loopback peer; from elsewhere a valid token of any kind when auth is on (/metrics);
 * - `token`: a valid token whenever auth is on, also from loopback (as gRPC).
 */
export type RouteAccess = 'public' | 'local-or-token' | 'token';

export interface HttpContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The parsed request URL (path and query). */
  url: URL;
  /** The caller when it sent a valid token; undefined without auth or for a tokenless local/public call. */
  principal?: Principal;
}

/** Answers a request; a thrown error becomes a 500 (logged), unless the handler already started its response. */
export type HttpHandler = (ctx: HttpContext) => void | Promise<void>;

export interface RouteOptions {
  /** Default `token`. */
  access?: RouteAccess;
}

export interface Route {
  method: string;
  prefix: string;
  handler: HttpHandler;
  access: RouteAccess;
}

/**
 * The route registry of the HTTP side port: processes mount /healthz, /readyz and /metrics here, and the dashboard
 * its page and JSON API. A prefix matches itself and everything below it on a segment boundary ("/api" matches
 * "/api" and "/api/x", not "/apix"); the longest matching prefix wins. `GET` routes also answer `HEAD`.
 * This API is what other modules build on: keep it stable.
 */
export class HttpRoutes {
  private readonly routes: Route[] = [];

  register(method: string, prefix: string, handler: HttpHandler, options: RouteOptions = {}): void {
    if (!prefix.startsWith('/')) throw new Error(`route prefix must start with "/", got "${prefix}"`);
    const m = method.toUpperCase();
    const p = prefix.length > 1 ? prefix.replace(/\/+$/, '') : prefix;
    if (this.routes.some((r) => r.method === m && r.prefix === p)) throw new Error(`route ${m} ${p} is already registered`);
    this.routes.push({ method: m, prefix: p, handler, access: options.access ?? 'token' });
    // Longest prefix first, so match() can return the first hit.
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The route for a request, or `{ allowed }` listing the methods the path has (for a 405), or undefined (404). */
  match(method: string, pathname: string): Route | { allowed: string[] } | undefined {
    const m = method === 'HEAD' ? 'GET' : method;
    const hits = this.routes.filter((r) => covers(r.prefix, pathname));
    if (hits.length === 0) return undefined;
    // Among the longest prefixes that match, the one for this method; a shorter prefix never shadows a longer one.
    const longest = hits[0].prefix.length;
    const best = hits.filter((r) => r.prefix.length === longest);
    return best.find((r) => r.method === m) ?? { allowed: best.map((r) => r.method) };
  }

  /** Registered routes, longest prefix first (for diagnostics and tests). */
  list(): readonly Route[] {
    return this.routes;
  }
}

function covers(prefix: string, pathname: string): boolean {
  if (prefix === '/') return true;
  return pathname === prefix || (pathname.startsWith(prefix) && pathname[prefix.length] === '/');
}
