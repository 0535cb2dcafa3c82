import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { allowedListenAddress } from '../auth/listen-policy';
import type { Authenticator } from '../auth/authenticator';
import { toStatusError } from '../grpc/status-error';
import { authorizeHttp } from './http-access';
import { replyText } from './http-reply';
import { HttpRoutes } from './http-routes';
import { bearerFromCookie } from './session-cookie';

export interface HttpServerOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  routes: HttpRoutes;
  /** The same authenticator (token file) as the process's gRPC server; disabled means no tokens anywhere. */
  auth: Authenticator;
  /** Allow a non-loopback address without auth (as gRPC's --insecure). */
  insecure: boolean;
  /** Serve HTTPS with this certificate (the processes pass their gRPC TLS certificate). */
  tls?: { cert: Buffer; key: Buffer };
  logger: Logger;
}

export interface HttpServer {
  port: number;
  /** host:port actually bound. */
  address: string;
  close(): Promise<void>;
}

/** The HTTP side port: dispatches to the route registry after the access check of the matched route. */
export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const { host, port } = allowedListenAddress(o.listen, { authEnabled: o.auth.enabled, insecure: o.insecure }, o.logger, 'HTTP');
  const handle = (req: IncomingMessage, res: ServerResponse) => void dispatch(o, req, res);
  const server: Server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }, handle) : createHttpServer(handle);
  server.keepAliveTimeout = 65_000; // longer than typical scrape intervals, so scrapers reuse connections
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const address = `${host.includes(':') ? `[${host}]` : host}:${bound}`;
  o.logger.info({ address, tls: !!o.tls, auth: o.auth.enabled, routes: o.routes.list().map((r) => `${r.method} ${r.prefix}`) }, 'http listening');
  return {
    port: bound,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function dispatch(o: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://side-port');
  } catch {
    return replyText(res, 400, 'bad request URL');
  }
  const route = o.routes.match(req.method ?? 'GET', url.pathname);
  if (!route) return replyText(res, 404, `no route for ${url.pathname}`);
  if (!('handler' in route)) return replyText(res, 405, `${req.method} is not allowed on ${url.pathname}`, { allow: route.allowed.join(', ') });
  let principal;
  try {
    principal = authorizeHttp(route.access, o.auth, req.socket.remoteAddress, req.headers.authorization ?? bearerFromCookie(req.headers.cookie));
  } catch (err) {
    o.logger.info({ path: url.pathname, peer: req.socket.remoteAddress }, toStatusError(err).message);
    return replyText(res, 401, toStatusError(err).message, { 'www-authenticate': 'Bearer' });
  }
  try {
    await route.handler({ req, res, url, principal });
  } catch (err) {
    o.logger.error({ path: url.pathname, err }, 'http handler failed');
    if (!res.headersSent) replyText(res, 500, `internal error: ${(err as Error).message}`);
    else res.destroy();
  }
}
