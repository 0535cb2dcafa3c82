import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HttpContext, HttpHandler, HttpRoutes } from '../http/http-routes';
import { replyJson, replyText } from '../http/http-reply';
import { sessionCookie } from '../http/session-cookie';
import type { SchedulerInsight } from '../scheduler/scheduler-observer';
import type { BuildHistory } from './build-history';
import { actionDetail, buildDetail, buildSummary } from './build-view';
import { nowSnapshot } from './now-snapshot';
import type { StaticFile } from './static-files';

export interface DashboardRoutesOptions {
  history: BuildHistory;
  insight: SchedulerInsight;
  /** The built page (see loadStaticFiles); empty when it was not built. */
  files: Map<string, StaticFile>;
  /** How often the Now stream sends a snapshot. */
  streamIntervalMs?: number;
  logger: Logger;
}

/**
 * The dashboard on the HTTP side port: the page (`/`, `/builds/<id>`, `/assets/…`) and its JSON API (`/api/…`).
 * Loopback callers need no token; elsewhere a client or viewer token, as header or session cookie. Worker and metrics
 * tokens are refused: they are for machines.
 */
export function mountDashboard(routes: HttpRoutes, o: DashboardRoutesOptions): void {
  const get = (prefix: string, handler: HttpHandler) => routes.register('GET', prefix, people(handler), { access: 'local-or-token' });
  const page: HttpHandler = ({ res }) => sendFile(res, o.files.get('/index.html'), 'no-store');

  get('/', (ctx) => (ctx.url.pathname === '/' ? page(ctx) : replyText(ctx.res, 404, `no route for ${ctx.url.pathname}`)));
  get('/builds', page);
  get('/assets', ({ res, url }) => sendFile(res, o.files.get(url.pathname), 'public, max-age=31536000, immutable'));

  get('/api/now', ({ res, url }) => {
    if (url.pathname === '/api/now/stream') return streamNow(res, o);
    if (url.pathname !== '/api/now') return replyText(res, 404, `no route for ${url.pathname}`);
    replyJson(res, 200, nowSnapshot(o.insight.snapshot()));
  });
  get('/api/builds', ({ res, url }) => {
    const [id, sub, actionId, ...rest] = url.pathname.split('/').slice(3).map(decodeURIComponent);
    if (id === undefined) return replyJson(res, 200, o.history.list().map(buildSummary));
    const b = o.history.get(id === '_' ? '' : id);
    if (!b) return replyText(res, 404, `no build "${id}" in the history (it keeps the last builds only; see dashboard.maxBuilds)`);
    if (sub === undefined) return replyJson(res, 200, buildDetail(b));
    if (sub === 'record' && actionId === undefined) return replyJson(res, 200, b);
    if (sub === 'actions' && actionId !== undefined && rest.length === 0) {
      const a = actionDetail(b, actionId);
      return a ? replyJson(res, 200, a) : replyText(res, 404, `build "${id}" has no action "${actionId}"`);
    }
    replyText(res, 404, `no route for ${url.pathname}`);
  });
  // Exchanges the bearer token (checked by the route's access rule) for an HttpOnly session cookie.
  routes.register(
    'POST',
    '/api/session',
    people(({ req, res }) => {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      res.writeHead(204, { 'set-cookie': sessionCookie(token, 'encrypted' in req.socket), 'cache-control': 'no-store' });
      res.end();
    }),
    { access: 'token' },
  );
}

/** Only people's tokens (client, viewer) or a tokenless loopback caller see the dashboard. */
function people(handler: HttpHandler): HttpHandler {
  return (ctx: HttpContext) => {
    const kind = ctx.principal?.kind;
    if (kind === 'worker' || kind === 'metrics') return replyText(ctx.res, 403, `"${ctx.principal!.name}" is a ${kind} token; the dashboard takes client or viewer tokens`);
    return handler(ctx);
  };
}

function sendFile(res: ServerResponse, f: StaticFile | undefined, cacheControl: string): void {
  if (!f) return replyText(res, 404, 'not found (the page is built by `npm run build` into dist/web)');
  res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length, 'cache-control': cacheControl, 'x-content-type-options': 'nosniff' });
  res.end(f.body);
}

/** Server-sent events: a Now snapshot right away, then every interval, until the page goes away. */
function streamNow(res: ServerResponse, o: DashboardRoutesOptions): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = () => res.write(`data: ${JSON.stringify(nowSnapshot(o.insight.snapshot()))}\n\n`);
  res.write('retry: 2000\n\n');
  send();
  const timer = setInterval(send, o.streamIntervalMs ?? 1000);
  res.on('close', () => clearInterval(timer));
}
