import { promises as fsp } from 'node:fs';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator';
import { Health } from '../http/health';
import { HttpRoutes } from '../http/http-routes';
import { HttpServer, startHttpServer } from '../http/http-server';
import { Metrics } from '../metrics/metrics';

/** What a process serves on its HTTP side port; built before the services so they can register into it. */
export interface SidePort {
  routes: HttpRoutes;
  health: Health;
  /** Absent with --metrics=false: no metrics code runs on any path (the bench's "metrics off"). */
  metrics?: Metrics;
  /** host:port, or undefined for no side port. */
  listen?: string;
}

export const SIDE_PORT_FLAGS = { http: 'string', metrics: 'boolean' } as const;

/**
 * `--http HOST:PORT` (`off` for none; `fallback` when absent) and `--metrics=false`. Mounts /healthz, /readyz and
 * /metrics on a fresh route registry.
 */
export function sidePort(args: Record<string, unknown>, fallback?: string): SidePort {
  const given = args.http === undefined ? fallback : String(args.http);
  const metrics = args.metrics === false ? undefined : new Metrics();
  const routes = new HttpRoutes();
  const health = new Health();
  health.mount(routes);
  metrics?.mount(routes);
  return { routes, health, metrics, listen: given === 'off' ? undefined : given };
}

/** Starts the side port with the process's token check and TLS certificate (the gRPC rules apply unchanged). */
export async function startSidePort(
  side: SidePort,
  auth: Authenticator,
  security: { insecure: boolean; tls?: { certFile: string; keyFile: string } },
  logger: Logger,
): Promise<HttpServer | undefined> {
  if (!side.listen) return undefined;
  const tls = security.tls ? { cert: await fsp.readFile(security.tls.certFile), key: await fsp.readFile(security.tls.keyFile) } : undefined;
  return startHttpServer({ listen: side.listen, routes: side.routes, auth, insecure: security.insecure, tls, logger: logger.child({ component: 'http' }) });
}
