#!/usr/bin/env node
import { ChannelCredentials, Client, makeGenericClientConstructor } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LRUCache } from 'lru-cache';
import { BlobStore } from '../blobstore/blob-store';
import { GrpcBlobStore } from '../blobstore/grpc/grpc-blob-store';
import { expectSize } from '../config/config-reader';
import { parseListenAddress } from '../grpc/listen-address';
import { ByteStreamService, ContentAddressableStorageService, WorkerServiceDefinition } from '../grpc/service-definitions';
import { bearerTokenInterceptor } from '../auth/bearer-token-interceptor';
import { createLogger } from '../logging/logger';
import { REv2 } from '../proto';
import { ActionExecutor } from '../worker/action-executor';
import { FileCache } from '../worker/file-cache';
import { InputRoot } from '../worker/input-root';
import { OutputCollector } from '../worker/output-collector';
import { DEFAULT_PATH, Runner } from '../worker/runner';
import { Capability, detectToolCapabilities } from '../worker/tool-capabilities';
import { parseRunAs, RunAs } from '../worker/run-as';
import { BubblewrapSandbox, NETWORK_PROPERTY, probeBubblewrap } from '../worker/sandbox';
import type { Logger } from 'pino';
import { WorkerConnection, WorkerStream } from '../worker/worker-connection';
import { Authenticator } from '../auth/authenticator';
import { TokenStore } from '../auth/token-store';
import { parseArgs } from './cli-args';
import { SIDE_PORT_FLAGS, sidePort, startSidePort } from './side-port';
import { workerFileCacheMetrics } from '../metrics/storage-metrics';

const USAGE = `usage: node dist/src/cmd/worker.js [--scheduler HOST:PORT] [--cas HOST:PORT] [--name NAME] [--slots N]
       [--work-dir DIR] [--cache-dir DIR] [--cache-max-bytes SIZE] [--property NAME=VALUE]...
       [--token-file FILE (or env RUSTEXEC_TOKEN)] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]] [--tls-server-name NAME] [--run-as USER|UID[:GID]]
       [--sandbox auto|bwrap|none]
       [--http HOST:PORT [--tokens FILE] [--insecure]] [--metrics=false] [--detect-tools=false]
Each worker needs its own --cache-dir (kept across restarts) on the same filesystem as --work-dir (hardlinks).
--run-as (worker started as root): commands run as that user, so they cannot modify their read-only inputs.
--sandbox (default auto: bubblewrap when it works here): each action in its own mount, PID and network namespaces;
  an action gets the network only with the platform property network=on.
--http serves /healthz, /readyz (registered with the scheduler) and /metrics; on a non-loopback address /metrics
needs a bearer token from --tokens FILE (e.g. one holding only a "metrics" token), or --insecure.
Tools found on the actions' default PATH are advertised (clang-22 → clang=22) unless --detect-tools=false;
--property NAME=VALUE replaces what was detected under NAME.`;

const CHANNEL_OPTIONS: Record<string, unknown> = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  // The default 64 KiB HTTP/2 window throttles ByteStream reads of large toolchain files.
  'grpc-node.flow_control_window': 8 * 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

async function main(): Promise<void> {
  const logger = createLogger('rustexec-worker');
  let args: Record<string, string | boolean | string[]>;
  try {
    args = parseArgs(process.argv.slice(2), {
      scheduler: 'string', cas: 'string', name: 'string', slots: 'string', 'work-dir': 'string', 'cache-dir': 'string',
      'cache-max-bytes': 'string', property: 'repeated', help: 'boolean', 'token-file': 'string', 'tls-ca': 'string', 'tls-cert': 'string', 'tls-key': 'string', 'tls-server-name': 'string', 'run-as': 'string', sandbox: 'string',
      tokens: 'string', insecure: 'boolean', ...SIDE_PORT_FLAGS,
      'detect-tools': 'boolean',
    });
    if (args.help) return void console.log(USAGE);
  } catch (err) {
    logger.fatal((err as Error).message);
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const scheduler = String(args.scheduler ?? '127.0.0.1:8980');
  const casAddress = String(args.cas ?? scheduler);
  const name = String(args.name ?? `${os.hostname()}-${process.pid}`);
  const slots = Number(args.slots ?? 1);
  const scratch = path.join(os.tmpdir(), `rustexec-worker-${process.pid}`);
  const workDir = path.resolve(String(args['work-dir'] ?? path.join(scratch, 'work')));
  const cacheDir = path.resolve(String(args['cache-dir'] ?? path.join(scratch, 'cache')));
  const cacheMaxBytes = expectSize(String(args['cache-max-bytes'] ?? '10GiB'), '--cache-max-bytes');
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`--slots must be a positive integer, got ${args.slots}`);
  parseListenAddress(scheduler);
  parseListenAddress(casAddress);
  const detected = args['detect-tools'] === false ? [] : await detectToolCapabilities({ searchPath: DEFAULT_PATH });
  const runAs = args['run-as'] ? parseRunAs(String(args['run-as'])) : undefined;
  const sandbox = chooseSandbox(String(args.sandbox ?? 'auto'), runAs, [workDir, cacheDir], logger);
  // A sandboxed worker runs actions with or without the network; an unsandboxed one always gives it.
  const network = (sandbox ? ['off', 'on'] : ['on']).map((value) => ({ name: NETWORK_PROPERTY, value }));
  const properties = platformProperties([...detected, ...network], args.property as string[]);

  await fsp.rm(workDir, { recursive: true, force: true });
  await fsp.mkdir(workDir, { recursive: true });
  if (runAs) await fsp.chmod(workDir, 0o711); // the action's user reaches its own directory, lists no one else's
  // Auth: a bearer token from --token-file or RUSTEXEC_TOKEN on every call, and/or a client certificate (mTLS,
  // --tls-cert/--tls-key); TLS when --tls-ca names the CA to trust.
  const token = args['token-file'] ? (await fsp.readFile(String(args['token-file']), 'utf8')).trim() : process.env.RUSTEXEC_TOKEN;
  if (!!args['tls-cert'] !== !!args['tls-key']) throw new Error('--tls-cert and --tls-key go together');
  if (args['tls-cert'] && !args['tls-ca']) throw new Error('--tls-cert needs --tls-ca (a client certificate is sent over TLS only)');
  const read = (flag: string) => (args[flag] ? fsp.readFile(String(args[flag])) : Promise.resolve(null));
  const credentials = args['tls-ca'] ? ChannelCredentials.createSsl(await read('tls-ca'), await read('tls-key'), await read('tls-cert')) : ChannelCredentials.createInsecure();
  Object.assign(CHANNEL_OPTIONS, {
    ...(token ? { interceptors: [bearerTokenInterceptor(token)] } : {}),
    ...(args['tls-server-name'] ? { 'grpc.ssl_target_name_override': String(args['tls-server-name']) } : {}),
  });
  const casClients = {
    cas: new (makeGenericClientConstructor(ContentAddressableStorageService, 'ContentAddressableStorage'))(casAddress, credentials, CHANNEL_OPTIONS),
    byteStream: new (makeGenericClientConstructor(ByteStreamService, 'ByteStream'))(casAddress, credentials, CHANNEL_OPTIONS),
  };
  const stores = new Map<string, BlobStore>();
  const casFor = (instance: string) => stores.get(instance) ?? stores.set(instance, new GrpcBlobStore(casClients, instance)).get(instance)!;
  const workerClient = new (makeGenericClientConstructor(WorkerServiceDefinition, 'WorkerService'))(scheduler, credentials, CHANNEL_OPTIONS) as unknown as Client & { connect(): WorkerStream };

  const side = sidePort(args);
  const fileCache = await FileCache.open({ dir: cacheDir, maxBytes: cacheMaxBytes, logger, ...(side.metrics ? workerFileCacheMetrics(side.metrics) : {}) });
  const inputRoot = new InputRoot({ fileCache, directoryCache: new LRUCache<string, REv2.Directory>({ max: 10_000 }) });
  const executor = new ActionExecutor({ workerName: name, workDir, casFor, inputRoot, runner: new Runner(sandbox), outputs: new OutputCollector(), logger, runAs });
  const connection = new WorkerConnection({ open: () => workerClient.connect(), executor, name, properties, slots, logger });
  connection.start();
  side.health.addCheck('scheduler', async () => {
    if (!connection.registered) throw new Error(`not registered with the scheduler at ${scheduler}`);
  });
  const httpAuth = new Authenticator(args.tokens ? await TokenStore.load(String(args.tokens)) : undefined);
  const http = await startSidePort(side, httpAuth, { insecure: args.insecure === true }, logger);
  logger.info({ worker: name, scheduler, cas: casAddress, http: http?.address ?? null, slots, workDir, cacheDir, cacheMaxBytes, runAs, properties: properties.map((p) => `${p.name}=${p.value}`) }, 'worker started');
  if (sandbox) logger.info({ hidden: [workDir, cacheDir] }, 'actions run in bubblewrap: own mount, PID, IPC, UTS and network namespaces; read-only root; private /tmp');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down; running actions are killed and requeued by the scheduler');
    await http?.close();
    await connection.stop();
    await fileCache.close();
    workerClient.close();
    casClients.cas.close();
    casClients.byteStream.close();
    await fsp.rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    if (!args['cache-dir']) await fsp.rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // A worker forked by `npm start` holds an IPC channel to its parent, which closes however the parent dies (SIGKILL
  // included): a worker must not outlive the server that would restart and stop it.
  if (process.send) process.once('disconnect', () => void stop('parent exited'));
}

/** What this machine offers (OSFamily, detected tools) plus `--property NAME=VALUE` flags, which override it. */
/** `--sandbox`: bubblewrap if it works here (auto), required (bwrap), or none; auto says why it falls back. */
function chooseSandbox(mode: string, runAs: RunAs | undefined, hidden: string[], logger: Logger): BubblewrapSandbox | undefined {
  if (!['auto', 'bwrap', 'none'].includes(mode)) throw new Error(`--sandbox must be auto, bwrap or none, got "${mode}"`);
  if (mode === 'none') return undefined;
  const probe = probeBubblewrap(runAs);
  if (probe.ok) return new BubblewrapSandbox('bwrap', hidden);
  if (mode === 'bwrap') throw new Error(`--sandbox bwrap: ${probe.reason}`);
  logger.warn({ reason: probe.reason }, 'actions run WITHOUT a sandbox: only their process group is killed at the end, and they see the network and the rest of the machine');
  return undefined;
}

function platformProperties(detected: Capability[], flags: string[]): REv2.Platform.IProperty[] {
  const props = new Map<string, string[]>([['OSFamily', [os.platform() === 'linux' ? 'Linux' : os.platform()]]]);
  for (const c of detected) props.set(c.name, [...(props.get(c.name) ?? []), c.value]);
  const given = new Set<string>();
  for (const f of flags) {
    const i = f.indexOf('=');
    if (i <= 0) throw new Error(`--property expects NAME=VALUE, got "${f}"`);
    const [k, v] = [f.slice(0, i), f.slice(i + 1)];
    // A repeated name offers several values (e.g. two container images); the first mention replaces the default.
    if (!given.has(k)) props.set(k, []);
    given.add(k);
    props.get(k)!.push(v);
  }
  return [...props].flatMap(([name, values]) => values.map((value) => ({ name, value })));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
