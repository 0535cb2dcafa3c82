import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authenticator } from '../../src/auth/authenticator';
import { TokenStore } from '../../src/auth/token-store';
import { authorizeHttp, isLoopbackPeer } from '../../src/http/http-access';
import { HttpHandler, HttpRoutes } from '../../src/http/http-routes';

const noop: HttpHandler = () => undefined;

describe('HttpRoutes', () => {
  it('matches a prefix on segment boundaries, the longest prefix first', () => {
    const routes = new HttpRoutes();
    routes.register('GET', '/', noop, { access: 'public' });
    routes.register('GET', '/api', noop);
    routes.register('GET', '/api/builds/', noop);
    const prefixOf = (p: string) => {
      const r = routes.match('GET', p);
      return r && 'prefix' in r ? r.prefix : undefined;
    };
    assert.equal(prefixOf('/api'), '/api');
    assert.equal(prefixOf('/api/x'), '/api');
    assert.equal(prefixOf('/apix'), '/');
    assert.equal(prefixOf('/api/builds'), '/api/builds');
    assert.equal(prefixOf('/api/builds/7'), '/api/builds');
    assert.equal(prefixOf('/anything'), '/');
  });

  it('answers HEAD with the GET route, lists the allowed methods for another method, and nothing for an unknown path', () => {
    const routes = new HttpRoutes();
    routes.register('GET', '/metrics', noop);
    routes.register('post', '/metrics', noop);
    assert.equal((routes.match('HEAD', '/metrics') as { method: string }).method, 'GET');
    assert.deepEqual(routes.match('DELETE', '/metrics'), { allowed: ['GET', 'POST'] });
    assert.equal(routes.match('GET', '/other'), undefined);
  });

  it('refuses a duplicate route and a prefix without a leading slash', () => {
    const routes = new HttpRoutes();
    routes.register('GET', '/x', noop);
    assert.throws(() => routes.register('GET', '/x/', noop), /already registered/);
    assert.throws(() => routes.register('GET', 'x', noop), /must start with "\/"/);
  });
});

describe('HTTP access rules', () => {
  const tokens = TokenStore.parse(
    JSON.stringify({ clients: [{ name: 'ci', token: 'client-token-0123456789', instances: [''] }], metrics: [{ name: 'prometheus', token: 'metrics-token-0123456789' }] }),
    'tokens.json',
  );
  const auth = new Authenticator(tokens);
  const open = new Authenticator(undefined);

  it('recognises loopback peers, including IPv4-mapped IPv6', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackPeer(a), true, a);
    for (const a of ['10.1.2.3', '::ffff:10.1.2.3', 'fe80::1', undefined]) assert.equal(isLoopbackPeer(a), false, String(a));
  });

  it('serves /metrics (local-or-token) to loopback without a token, and from elsewhere only with a valid token of any kind', () => {
    assert.equal(authorizeHttp('local-or-token', auth, '127.0.0.1', undefined), undefined);
    assert.throws(() => authorizeHttp('local-or-token', auth, '10.0.0.9', undefined), /missing "authorization: Bearer <token>"/);
    assert.throws(() => authorizeHttp('local-or-token', auth, '10.0.0.9', 'Bearer wrong-token-000000000'), /not valid/);
    assert.equal(authorizeHttp('local-or-token', auth, '10.0.0.9', 'Bearer metrics-token-0123456789')?.kind, 'metrics');
    assert.equal(authorizeHttp('local-or-token', auth, '10.0.0.9', 'Bearer client-token-0123456789')?.name, 'ci');
  });

  it('needs a token on token routes even from loopback, never on public routes, and none at all without auth', () => {
    assert.throws(() => authorizeHttp('token', auth, '127.0.0.1', undefined), /missing/);
    assert.equal(authorizeHttp('public', auth, '10.0.0.9', undefined), undefined);
    assert.equal(authorizeHttp('token', open, '10.0.0.9', undefined), undefined);
  });

  it('keeps a metrics token off gRPC', async () => {
    const { Metadata } = await import('@grpc/grpc-js');
    const md = new Metadata();
    md.set('authorization', 'Bearer metrics-token-0123456789');
    assert.throws(() => auth.authenticate(md), /metrics token; it is valid only for the HTTP side port/);
  });
});
