import assert from 'node:assert/strict';
import { ChannelCredentials, credentials, makeGenericClientConstructor, ServiceError, status } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { bearerTokenInterceptor } from '../../src/auth/bearer-token-interceptor';
import { ContentAddressableStorageService, WorkerServiceDefinition } from '../../src/grpc/service-definitions';
import { re, worker } from '../../src/proto';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { makeClientCert, makeTestCerts, TestCerts } from '../helpers/tls-certs';

const TOKEN = 'mtls-client-token-1234567890';

describe('mTLS: client certificates as an auth method next to tokens, per instance, and for workers', () => {
  let dir: string;
  let certs: TestCerts;
  let clientCa: string;
  let server: ServerProcess;
  const id: Record<string, { certFile: string; keyFile: string }> = {};

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-mtls-'));
    certs = await makeTestCerts(path.join(dir, 'server'));
    // Client certificates come from their own CA; a second, untrusted CA signs an impostor.
    const clients = await makeTestCerts(path.join(dir, 'clients'));
    const rogue = await makeTestCerts(path.join(dir, 'rogue'));
    clientCa = clients.caFile;
    id.builder = await makeClientCert(path.join(dir, 'clients'), 'builder.ci');
    id.teamB = await makeClientCert(path.join(dir, 'clients'), 'team-b');
    id.pool = await makeClientCert(path.join(dir, 'clients'), 'worker-pool');
    id.unlisted = await makeClientCert(path.join(dir, 'clients'), 'nobody-listed');
    id.impostor = await makeClientCert(path.dirname(rogue.caFile), 'builder.ci');
    await fsp.writeFile(
      path.join(dir, 'auth.json'),
      JSON.stringify({
        clients: [
          { name: 'ci', token: TOKEN, instances: ['*'] },
          { name: 'builder', certificate: 'builder.ci', instances: [''] },
          { name: 'team-b', certificate: 'team-b', instances: ['b'] },
        ],
        workers: [{ name: 'pool', certificate: 'worker-pool' }],
      }),
    );
    server = await startServerProcess({
      args: ['--data', path.join(dir, 'data'), '--workers', '0', '--tokens', path.join(dir, 'auth.json'), '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--tls-client-ca', clientCa],
    });
  });
  after(async () => {
    await server?.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const creds = async (who?: keyof typeof id) =>
    who ? credentials.createSsl(await fsp.readFile(certs.caFile), await fsp.readFile(id[who].keyFile), await fsp.readFile(id[who].certFile)) : credentials.createSsl(await fsp.readFile(certs.caFile));

  const findMissing = (c: ChannelCredentials, token?: string, instanceName = '') =>
    new Promise<void>((resolve, reject) => {
      const C = makeGenericClientConstructor(ContentAddressableStorageService, 'CAS');
      const client = new C(`localhost:${server.port}`, c, token ? { interceptors: [bearerTokenInterceptor(token)] } : {}) as unknown as Record<string, Function> & { close(): void };
      client.findMissingBlobs(re.FindMissingBlobsRequest.create({ instanceName }), { deadline: Date.now() + 10_000 }, (err: ServiceError | null) => {
        client.close();
        err ? reject(err) : resolve();
      });
    });
  const code = (p: Promise<unknown>) => p.then(() => 'OK', (e: ServiceError) => `${status[e.code]}: ${e.details}`);

  it('lets a client in by its certificate alone, on the instances its entry lists', async () => {
    assert.equal(await code(findMissing(await creds('builder'))), 'OK');
    assert.match(await code(findMissing(await creds('teamB'))), /^PERMISSION_DENIED: token "team-b" is not allowed on instance ""/);
    assert.match(await code(findMissing(await creds('teamB'), undefined, 'b')), /^INVALID_ARGUMENT: unknown instance name "b"/, 'past authentication to the instance lookup');
  });

  it('still takes bearer tokens from clients without a certificate', async () => {
    assert.equal(await code(findMissing(await creds(), TOKEN)), 'OK');
    assert.match(await code(findMissing(await creds())), /^UNAUTHENTICATED: missing "authorization: Bearer <token>"/);
  });

  it('refuses a certificate signed by another CA, and a valid one whose name is not listed', async () => {
    assert.match(await code(findMissing(await creds('impostor'))), /^UNAUTHENTICATED/);
    assert.match(await code(findMissing(await creds('unlisted'))), /^UNAUTHENTICATED: .*CN="nobody-listed" is not listed/);
  });

  it('keeps the worker protocol to worker identities', async () => {
    const C = makeGenericClientConstructor(WorkerServiceDefinition, 'Worker');
    const client = new C(`localhost:${server.port}`, await creds('builder')) as unknown as Record<string, Function> & { close(): void };
    const call = client.connect();
    const err = await new Promise<ServiceError>((resolve) => {
      call.on('error', resolve);
      call.on('data', () => undefined);
      call.write(worker.WorkerMessage.create({ register: { workerName: 'x', slots: 1 } }));
    });
    client.close();
    assert.match(`${status[err.code]}: ${err.details}`, /^PERMISSION_DENIED: "builder" is a client token/);
  });

  it('registers a worker process that authenticates with its client certificate and no token', async () => {
    const child = spawn(process.execPath, [
      path.join(__dirname, '../../src/cmd/worker.js'), '--scheduler', `localhost:${server.port}`, '--tls-ca', certs.caFile, '--tls-cert', id.pool.certFile, '--tls-key', id.pool.keyFile,
      '--work-dir', path.join(dir, 'w', 'work'), '--cache-dir', path.join(dir, 'w', 'cache'), '--sandbox', 'none',
    ], { stdio: 'ignore', env: { ...process.env, RUSTEXEC_TOKEN: '' } });
    try {
      const until = Date.now() + 20_000;
      while (!server.logRecords().some((r) => r.msg === 'worker registered')) {
        assert.ok(Date.now() < until, `the worker did not register with its certificate:\n${server.logs().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
