import * as assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Frontend, startFrontend } from '../../src/cmd/frontend';
import { SidePort, sidePort, startSidePort } from '../../src/cmd/side-port';
import { defaultConfig, ServerConfig } from '../../src/config/server-config';
import { HttpServer } from '../../src/http/http-server';
import { replyJson } from '../../src/http/http-reply';
import { silentLogger } from '../../src/logging/logger';
import { re } from '../../src/proto';
import { createClients } from '../helpers/clients';
import { startServerProcess } from '../e2e/server-process';

const CI_TOKEN = 'ci-token-0123456789abcdef';

describe('HTTP side port of a frontend with tokens', () => {
  let dir: string;
  let frontend: Frontend;
  let side: SidePort;
  let http: HttpServer;
  let base: string;

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-side-port-'));
    await fsp.writeFile(path.join(dir, 'tokens.json'), JSON.stringify({ clients: [{ name: 'ci', token: CI_TOKEN, instances: [''] }] }));
    const config: ServerConfig = { ...defaultConfig(dir), listen: '127.0.0.1:0' };
    config.security = { tokensFile: path.join(dir, 'tokens.json'), insecure: false };
    side = sidePort({ http: '127.0.0.1:0' });
    // What the dashboard does: mount its own route on the registry before the port starts.
    side.routes.register('GET', '/api/hello', ({ res, principal }) => replyJson(res, 200, { caller: principal?.name ?? null }));
    frontend = await startFrontend(config, silentLogger(), undefined, { metrics: side.metrics, health: side.health });
    http = (await startSidePort(side, frontend.auth, config.security, silentLogger()))!;
    base = `http://${http.address}`;
  });
  after(async () => {
    await http.close();
    await frontend.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz without a token, with the storage check passing', async () => {
    const live = await fetch(`${base}/healthz`);
    assert.equal(live.status, 200);
    assert.equal(await live.text(), 'ok\n');
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, checks: { 'storage ""': 'ok' } });
  });

  it('counts gRPC calls by service, method and code, served on /metrics to a loopback peer without a token', async () => {
    const anonymous = createClients(`127.0.0.1:${frontend.port}`);
    await assert.rejects(anonymous.cas.findMissingBlobs(re.FindMissingBlobsRequest.create({ instanceName: '' })), (e: { code: number }) => e.code === status.UNAUTHENTICATED);
    anonymous.close();
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const cas = 'service="build.bazel.remote.execution.v2.ContentAddressableStorage",method="FindMissingBlobs"';
    assert.match(text, new RegExp(`rustexec_grpc_server_handled_total\\{${cas},code="UNAUTHENTICATED"\\} 1\\n`));
    assert.match(text, new RegExp(`rustexec_grpc_server_started_total\\{${cas}\\} 1\\n`));
    assert.match(text, new RegExp(`rustexec_grpc_server_handling_seconds_count\\{${cas}\\} 1\\n`));
    assert.match(text, /\nprocess_cpu_user_seconds_total \d/, 'process metrics under their standard names');
  });

  it('needs the token on a token route (the default) even from loopback, and passes the caller to the handler', async () => {
    const denied = await fetch(`${base}/api/hello`);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer');
    const ok = await fetch(`${base}/api/hello`, { headers: { authorization: `Bearer ${CI_TOKEN}` } });
    assert.deepEqual(await ok.json(), { caller: 'ci' });
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    const res = await fetch(`${base}/metrics`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
  });
});

describe('HTTP side port of the all-in-one process', () => {
  it('listens next to the gRPC port by default and serves no /metrics with --metrics=false', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-side-port-'));
    for (const metricsOff of [false, true]) {
      const server = await startServerProcess({ args: ['--data', dir, '--workers', '0', ...(metricsOff ? ['--metrics=false'] : [])] });
      try {
        const rec = await server.waitForLog('http listening');
        const base = `http://${rec.address as string}`;
        assert.equal((await fetch(`${base}/readyz`)).status, 200);
        assert.equal((await fetch(`${base}/metrics`)).status, metricsOff ? 404 : 200);
      } finally {
        await server.stop();
      }
    }
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('refuses a non-loopback side port without tokens, as it refuses such a gRPC address', async () => {
    await assert.rejects(startServerProcess({ args: ['--workers', '0', '--http', '0.0.0.0:0', '--data', os.tmpdir()], startTimeoutMs: 10_000 }), /refusing to listen on 0\.0\.0\.0:0 without authentication \(HTTP\)/);
  });
});
