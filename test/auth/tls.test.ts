import assert from 'node:assert/strict';
import { ChannelCredentials, credentials, makeGenericClientConstructor, ServiceError } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bearerTokenInterceptor } from '../../src/auth/bearer-token-interceptor';
import { CapabilitiesService } from '../../src/grpc/service-definitions';
import { re, REv2 } from '../../src/proto';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { makeTestCerts, TestCerts } from '../helpers/tls-certs';

const TOKEN = 'tls-client-token-1234567890';

describe('TLS listener with tokens (all-in-one process and its local worker)', () => {
  let dir: string;
  let certs: TestCerts;
  let server: ServerProcess;

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-tls-'));
    certs = await makeTestCerts(path.join(dir, 'certs'));
    await fsp.writeFile(path.join(dir, 'tokens.json'), JSON.stringify({ clients: [{ name: 'ci', token: TOKEN, instances: ['*'] }] }));
    server = await startServerProcess({
      args: ['--data', path.join(dir, 'data'), '--workers', '1', '--tokens', path.join(dir, 'tokens.json'), '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--tls-ca', certs.caFile],
    });
  });
  after(async () => {
    await server.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const capabilities = (creds: ChannelCredentials, token?: string) =>
    new Promise<REv2.ServerCapabilities>((resolve, reject) => {
      const C = makeGenericClientConstructor(CapabilitiesService, 'Capabilities');
      const c = new C(`localhost:${server.port}`, creds, token ? { interceptors: [bearerTokenInterceptor(token)] } : {}) as unknown as Record<string, Function> & { close(): void };
      c.getCapabilities(re.GetCapabilitiesRequest.create({}), { deadline: Date.now() + 5000 }, (err: ServiceError | null, res: REv2.ServerCapabilities) => {
        c.close();
        err ? reject(err) : resolve(res);
      });
    });

  it('serves a client that trusts the CA and sends a valid token', async () => {
    const caps = await capabilities(credentials.createSsl(await fsp.readFile(certs.caFile)), TOKEN);
    assert.equal(caps.executionCapabilities?.execEnabled, true);
  });

  it('refuses plaintext clients on the TLS port', async () => {
    await assert.rejects(capabilities(credentials.createInsecure(), TOKEN));
  });

  it('connects its local worker over TLS with its own token', async () => {
    const until = Date.now() + 15_000;
    while (!server.logRecords().some((r) => r.msg === 'worker registered')) {
      assert.ok(Date.now() < until, `the local worker did not register over TLS:\n${server.logs().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
