import assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, Metadata, ServiceError, status } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bearerTokenInterceptor } from '../../src/auth/bearer-token-interceptor';
import { TokenStore } from '../../src/auth/token-store';
import { executionServices } from '../../src/cmd/execution-services';
import { Frontend, startFrontend } from '../../src/cmd/frontend';
import { ConfigError } from '../../src/config/config-reader';
import { defaultConfig, ServerConfig } from '../../src/config/server-config';
import { ContentAddressableStorageService, WorkerServiceDefinition } from '../../src/grpc/service-definitions';
import { silentLogger } from '../../src/logging/logger';
import { re } from '../../src/proto';
import { Scheduler } from '../../src/scheduler/scheduler';
import { startServerProcess } from '../e2e/server-process';

const CI_TOKEN = 'ci-token-0123456789abcdef';
const OTHER_TOKEN = 'other-token-0123456789abcdef';
const WORKER_TOKEN = 'worker-token-0123456789abcdef';
const TOKENS = JSON.stringify({
  clients: [
    { name: 'ci', token: CI_TOKEN, instances: [''] },
    { name: 'other-team', token: OTHER_TOKEN, instances: ['other'] },
  ],
  workers: [{ name: 'pool', token: WORKER_TOKEN }],
});

describe('authentication with bearer tokens', () => {
  let dir: string;
  let frontend: Frontend;
  let scheduler: Scheduler;
  let address: string;
  const Cas = makeGenericClientConstructor(ContentAddressableStorageService, 'Cas');
  const Worker = makeGenericClientConstructor(WorkerServiceDefinition, 'Worker');

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-auth-'));
    await fsp.writeFile(path.join(dir, 'tokens.json'), TOKENS);
    const config: ServerConfig = { ...defaultConfig(dir), listen: '127.0.0.1:0' };
    config.security = { tokensFile: path.join(dir, 'tokens.json'), insecure: false };
    frontend = await startFrontend(config, silentLogger(), executionServices(config.execution, config.maxInlineBytes, silentLogger(), (s) => (scheduler = s)));
    address = `127.0.0.1:${frontend.port}`;
  });
  after(async () => {
    scheduler.close();
    await frontend.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const findMissing = (token?: string, instanceName = '') =>
    new Promise<void>((resolve, reject) => {
      const client = new Cas(address, credentials.createInsecure(), token ? { interceptors: [bearerTokenInterceptor(token)] } : {}) as unknown as Record<string, Function> & { close(): void };
      client.findMissingBlobs(re.FindMissingBlobsRequest.create({ instanceName }), (err: ServiceError | null) => {
        client.close();
        err ? reject(err) : resolve();
      });
    });
  const rejectsWith = (p: Promise<unknown>, code: status, pattern: RegExp) =>
    assert.rejects(p, (e: ServiceError) => {
      assert.equal(e.code, code, e.message);
      assert.match(e.details, pattern);
      return true;
    });

  it('accepts a valid token on an instance it is allowed on', async () => {
    await findMissing(CI_TOKEN);
  });

  it('answers UNAUTHENTICATED without a token, saying how to send one', async () => {
    await rejectsWith(findMissing(), status.UNAUTHENTICATED, /authorization: Bearer/);
  });

  it('answers UNAUTHENTICATED for a wrong token', async () => {
    await rejectsWith(findMissing('not-a-valid-token-at-all'), status.UNAUTHENTICATED, /not valid/);
  });

  it('answers PERMISSION_DENIED for a token used on another instance', async () => {
    await rejectsWith(findMissing(OTHER_TOKEN, ''), status.PERMISSION_DENIED, /other-team.*not allowed on instance ""/);
  });

  it('refuses a client token on the worker protocol with PERMISSION_DENIED, and a wrong one with UNAUTHENTICATED', async () => {
    for (const [token, code] of [[CI_TOKEN, status.PERMISSION_DENIED], ['wrong-worker-token-000000', status.UNAUTHENTICATED]] as const) {
      const client = new Worker(address, credentials.createInsecure(), { interceptors: [bearerTokenInterceptor(token)] }) as unknown as Record<string, Function> & { close(): void };
      const call = client.connect(new Metadata());
      const err = await new Promise<ServiceError>((resolve) => call.on('error', resolve));
      call.on('data', () => undefined);
      assert.equal(err.code, code);
      client.close();
    }
    assert.deepEqual(scheduler.workerNames, []);
  });

  it('lets a worker with the worker token register', async () => {
    const client = new Worker(address, credentials.createInsecure(), { interceptors: [bearerTokenInterceptor(WORKER_TOKEN)] }) as unknown as Record<string, Function> & { close(): void };
    const call = client.connect(new Metadata());
    call.write({ register: { workerName: 'authorized', slots: 1 } });
    const first = await new Promise<{ registered?: unknown }>((resolve) => call.once('data', resolve));
    assert.ok(first.registered);
    assert.deepEqual(scheduler.workerNames, ['authorized']);
    call.on('error', () => undefined);
    call.cancel();
    client.close();
  });
});

describe('token files', () => {
  it('reject short tokens and unknown keys with the path of the problem', () => {
    assert.throws(() => TokenStore.parse('{clients: [{name: "a", token: "short", instances: [""]}]}', 'tokens.json'), (e: ConfigError) => /tokens.json.clients\[0\].token: use at least 16/.test(e.message));
    assert.throws(() => TokenStore.parse('{users: []}', 'tokens.json'), /unknown key "users"/);
  });
});

describe('listening on the network', () => {
  it('refuses to start on a non-loopback address without authentication unless --insecure', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-listen-'));
    const config: ServerConfig = { ...defaultConfig(dir), listen: '0.0.0.0:0' };
    await assert.rejects(startFrontend(config, silentLogger()), /refusing to listen on 0\.0\.0\.0:0 without authentication.*--insecure/);
    // The real entry point exits with status 2 and says why.
    await assert.rejects(startServerProcess({ args: ['--listen', '0.0.0.0:0', '--data', dir, '--workers', '0'], startTimeoutMs: 10_000 }), /refusing to listen/);
    await fsp.rm(dir, { recursive: true, force: true });
  });
});
