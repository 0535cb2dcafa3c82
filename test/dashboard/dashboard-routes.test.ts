import * as assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { Authenticator } from '../../src/auth/authenticator';
import { TokenStore } from '../../src/auth/token-store';
import { BuildHistory } from '../../src/dashboard/build-history';
import { BuildRecorder } from '../../src/dashboard/build-recorder';
import type { BuildSummary, NowSnapshot } from '../../src/dashboard/dashboard-api';
import { mountDashboard } from '../../src/dashboard/dashboard-routes';
import { Code, StatusError } from '../../src/grpc/status-error';
import { authorizeHttp } from '../../src/http/http-access';
import { HttpRoutes } from '../../src/http/http-routes';
import { HttpServer, startHttpServer } from '../../src/http/http-server';
import { silentLogger } from '../../src/logging/logger';
import type { SchedulerInsight, SchedulerSnapshot } from '../../src/scheduler/scheduler-observer';

const TOKENS = {
  clients: [{ name: 'ci', token: 'ci-token-0123456789abcdef', instances: [''] }],
  viewers: [{ name: 'team', token: 'viewer-token-0123456789ab' }],
  metrics: [{ name: 'prom', token: 'metrics-token-0123456789' }],
};
const INDEX = Buffer.from('<!doctype html><title>rustexec builds</title>');

describe('dashboard routes on the HTTP side port', () => {
  let http: HttpServer;
  let base: string;
  let history: BuildHistory;
  const auth = new Authenticator(TokenStore.parse(JSON.stringify(TOKENS), 'tokens'));
  let running = 0;
  const insight: SchedulerInsight = {
    observe: () => () => undefined,
    builds: () => [],
    crateGraph: () => [],
    snapshot: (): SchedulerSnapshot => ({
      atMs: Date.now(),
      queued: [{ platformKey: '', actionClass: 'rust-metadata', count: 3 }],
      running: Array.from({ length: running }, (_, i) => ({ task: { id: `t${i}`, instanceName: '', actionDigest: '', actionClass: 'rust-rlib', labels: { crate: 'serde', phase: 'fused' }, platformKey: '', priority: 0, invocationIds: ['inv'], operations: 0, queuedAtMs: 1, internal: true }, workerId: 'w1', workerName: 'local-0', slots: 1, startedAtMs: 2, executing: true })),
      workers: [{ id: 'w1', name: 'local-0', platform: '', slots: 2, busySlots: running, runningTasks: running, registeredAtMs: 0, lastSeenMs: 0 }],
      liveOperations: running,
    }),
  };

  before(async () => {
    history = new BuildHistory({ maxBuilds: 5, maxActionsPerBuild: 10, idleMs: 1000 });
    new BuildRecorder(history).onCacheHit({ invocationId: 'inv/with slash' });
    const routes = new HttpRoutes();
    mountDashboard(routes, { history, insight, files: new Map([['/index.html', { body: INDEX, type: 'text/html; charset=utf-8' }]]), streamIntervalMs: 50, logger: silentLogger() });
    http = await startHttpServer({ listen: '127.0.0.1:0', routes, auth, insecure: false, logger: silentLogger() });
    base = `http://${http.address}`;
  });
  after(async () => {
    history.close();
    await http.close();
  });

  it('serves the page for / and /builds/<id>, and the builds list and Now snapshot as JSON, to a loopback peer without a token', async () => {
    for (const p of ['/', '/builds/abc']) {
      const res = await fetch(base + p);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), INDEX.toString());
    }
    assert.equal((await fetch(`${base}/elsewhere`)).status, 404);
    const builds = (await (await fetch(`${base}/api/builds`)).json()) as BuildSummary[];
    assert.deepEqual(
      builds.map((b) => [b.invocationId, b.cached]),
      [['inv/with slash', 1]],
    );
    assert.equal((await fetch(`${base}/api/builds/${encodeURIComponent('inv/with slash')}`)).status, 200);
    const missing = await fetch(`${base}/api/builds/nope`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /keeps the last builds only/);
    const now = (await (await fetch(`${base}/api/now`)).json()) as NowSnapshot;
    assert.deepEqual(now.queued, { 'rust-metadata': 3 });
    assert.deepEqual(now.workers, [{ name: 'local-0', slots: 2, busy: 0 }]);
  });

  it('streams Now snapshots as server-sent events that follow the scheduler', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/api/now/stream`, { signal: ac.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const counts: number[] = [];
    let text = '';
    while (counts.length < 3) {
      const { value } = await reader.read();
      text += Buffer.from(value!).toString('utf8');
      let i: number;
      while ((i = text.indexOf('\n\n')) >= 0) {
        const event = text.slice(0, i);
        text = text.slice(i + 2);
        if (event.startsWith('data: ')) counts.push((JSON.parse(event.slice(6)) as NowSnapshot).running.length);
        running = 2;
      }
    }
    ac.abort();
    assert.equal(counts[0], 0);
    assert.equal(counts.at(-1), 2, 'a later event shows the new running actions without a new request');
  });

  it('takes client and viewer tokens as header or as the session cookie POST /api/session sets; refuses machine tokens', async () => {
    const viewer = `Bearer ${TOKENS.viewers[0].token}`;
    const login = await fetch(`${base}/api/session`, { method: 'POST', headers: { authorization: viewer } });
    assert.equal(login.status, 204);
    const cookie = login.headers.get('set-cookie')!;
    assert.match(cookie, /^rustexec_token=viewer-token-0123456789ab; Path=\/; HttpOnly; SameSite=Strict/);
    assert.equal((await fetch(`${base}/api/builds`, { headers: { cookie: cookie.split(';')[0] } })).status, 200);
    assert.equal((await fetch(`${base}/api/builds`, { headers: { authorization: `Bearer ${TOKENS.clients[0].token}` } })).status, 200);
    assert.equal((await fetch(`${base}/api/builds`, { headers: { cookie: 'rustexec_token=wrong-token-0123456789' } })).status, 401);
    const machine = await fetch(`${base}/api/builds`, { headers: { authorization: `Bearer ${TOKENS.metrics[0].token}` } });
    assert.equal(machine.status, 403);
    assert.match(await machine.text(), /metrics token; the dashboard takes client or viewer tokens/);
    assert.equal((await fetch(`${base}/api/session`, { method: 'POST' })).status, 401, 'no token, no session');
  });

  it('needs a token from a peer off loopback, and a viewer token cannot use gRPC (it cannot execute)', () => {
    assert.throws(() => authorizeHttp('local-or-token', auth, '10.1.2.3', undefined), (e: StatusError) => e.code === Code.UNAUTHENTICATED);
    assert.equal(authorizeHttp('local-or-token', auth, '10.1.2.3', `Bearer ${TOKENS.viewers[0].token}`)?.kind, 'viewer');
    const md = new Metadata();
    md.set('authorization', `Bearer ${TOKENS.viewers[0].token}`);
    assert.throws(() => auth.authenticate(md), (e: StatusError) => e.code === Code.PERMISSION_DENIED && /viewer token/.test(e.message));
  });
});
