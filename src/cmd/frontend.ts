import { experimental, Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import { authenticated, certificateName } from '../auth/authenticated-service';
import { Authenticator } from '../auth/authenticator';
import { TokenStore } from '../auth/token-store';
import { allowedListenAddress } from '../auth/listen-policy';
import type { Logger } from 'pino';
import { CompletenessCheckingActionCache } from '../actioncache/completeness-checking-action-cache';
import { FunctionKeyedActionCache } from '../actioncache/function-keyed-action-cache';
import { newActionCache, newBlobStore } from '../blobstore/configuration/new-blob-store';
import { messageLimits, ServerConfig } from '../config/server-config';
import { CallLimits } from '../grpc/call-limits';
import { limitsInterceptor } from '../grpc/limits-interceptor';
import { DIGEST_FUNCTIONS, digestFunctionByName } from '../digest/digest-function';
import { startGrpcServer, shutdownGrpcServer } from '../grpc/grpc-server';
import { ActionCacheService, ByteStreamService, CapabilitiesService, ContentAddressableStorageService, FetchService, PushService } from '../grpc/service-definitions';
import { actionCacheService } from '../services/action-cache-service';
import { remoteAssetServices } from '../services/remote-asset-service';
import { byteStreamService } from '../services/bytestream-service';
import { capabilitiesService } from '../services/capabilities-service';
import { casService } from '../services/cas-service';
import { Instance, Instances } from '../services/instance';
import { rpcObserverInterceptor } from '../grpc/rpc-observer-interceptor';
import { Health } from '../http/health';
import { Metrics } from '../metrics/metrics';
import { rpcMetrics } from '../metrics/rpc-metrics';
import { actionCacheMetrics, storageMetrics } from '../metrics/storage-metrics';
import { storageCheck } from './storage-check';
import { UploadSessions } from '../services/upload-sessions';
import { CacheHitObserver } from '../services/submitted-action';

export interface Frontend {
  port: number;
  instances: Instances;
  server: Server;
  /** The token check, shared with the HTTP side port. */
  auth: Authenticator;
  /** Calls in flight per client, against config.limits. */
  limits: CallLimits;
  close(): Promise<void>;
}

/** A service to serve; `workerOnly` services accept worker tokens only. */
export type ServiceEntry = [ServiceDefinition, UntypedServiceImplementation, { workerOnly?: boolean }?];

/** Extra services (Execution, worker protocol) composed by the caller on top of the cache services. */
export type ExtraServices = (instances: Instances) => ServiceEntry[];

/** Builds every instance's storage from config and serves the cache APIs. The composition is visible here. */
export interface FrontendOptions {
  /** Serve Capabilities, CAS, ByteStream and ActionCache (false for a scheduler-only process). */
  cacheServices?: boolean;
  /** Record RPC and storage metrics here (absent: no metrics code on any path). */
  metrics?: Metrics;
  /** Register readiness checks (storage reachable) here. */
  health?: Health;
  /** Sees GetActionResult hits (the dashboard counts them per build). */
  onCacheHit?: CacheHitObserver;
}

export async function startFrontend(config: ServerConfig, logger: Logger, extra?: ExtraServices, options: FrontendOptions = {}): Promise<Frontend> {
  const { tokensFile, tls, insecure } = config.security;
  const { host, port } = allowedListenAddress(config.listen, { authEnabled: !!tokensFile, insecure }, logger, 'gRPC');
  const tokens = tokensFile ? await TokenStore.load(tokensFile) : undefined;
  const localToken = config.security.localWorkerToken;
  const auth = new Authenticator(tokens && localToken ? tokens.withWorkerToken('local-workers', localToken) : tokens);
  const list: Instance[] = [];
  for (const [name, ic] of Object.entries(config.instances)) {
    const digestFunction = digestFunctionByName(ic.digestFunction);
    const digestFunctions = ic.digestFunctions ? ic.digestFunctions.map(digestFunctionByName) : [digestFunction, ...DIGEST_FUNCTIONS.filter((f) => f !== digestFunction)];
    const instrument = options.metrics && storageMetrics(options.metrics, name);
    const cas = await newBlobStore(ic.cas, logger.child({ instance: name }), process.env, instrument);
    const store = await newActionCache(ic.ac, process.env, instrument);
    const checked = new CompletenessCheckingActionCache(new FunctionKeyedActionCache(store), cas, logger);
    const ac = options.metrics ? actionCacheMetrics(options.metrics, name, checked) : checked;
    list.push({ name, digestFunction, digestFunctions, cas, ac });
    options.health?.addCheck(`storage "${name}"`, storageCheck(store, cas, digestFunction));
  }
  const instances = new Instances(list, (name) => auth.checkInstance(name));
  const sessions = new UploadSessions(config.uploadIdleMs);
  const extraServices = extra?.(instances) ?? [];
  const execEnabled = extraServices.some(([def]) => 'execute' in def);
  const credentials = tls ? await serverCredentials(tls) : undefined;
  const assetServices = remoteAssetServices(instances, config.remoteAsset, logger);
  const cache: ServiceEntry[] = [
    [CapabilitiesService, capabilitiesService(instances, { maxBatchTotalSizeBytes: config.maxBatchTotalSizeBytes, acUpdateEnabled: config.acUpdateEnabled, execEnabled: () => execEnabled }, logger)],
    [ContentAddressableStorageService, casService(instances, { maxBatchTotalSizeBytes: config.maxBatchTotalSizeBytes }, logger)],
    [ByteStreamService, byteStreamService(instances, sessions, logger)],
    [FetchService, assetServices.fetch],
    [PushService, assetServices.push],
    [ActionCacheService, actionCacheService(instances, { updateEnabled: config.acUpdateEnabled, maxInlineBytes: config.maxInlineBytes, onHit: options.onCacheHit }, logger)],
  ];
  const services = [...(options.cacheServices === false ? [] : cache), ...extraServices];
  const messages = messageLimits(config);
  const limits = new CallLimits(config.limits, messages.defaultBytes);
  // Outermost, so that metrics count the calls it refuses or ends under their real status.
  const limiter = limitsInterceptor({ limits, identify: (metadata, call) => auth.identify(metadata, certificateName(call)), logger });
  const started = await startGrpcServer(
    {
      host,
      port,
      maxMessageBytes: config.maxBatchTotalSizeBytes + 1024 * 1024,
      maxReceiveMessageBytes: messages.ceilingBytes,
      credentials,
      interceptors: [...(options.metrics ? [rpcObserverInterceptor(rpcMetrics(options.metrics))] : []), limiter],
    },
    services.map(([def, impl, o]) => [def, authenticated(impl, auth, logger, o?.workerOnly)]),
  );
  logger.info({ address: `${host}:${started.port}`, instances: instances.names, services: services.map(([def]) => Object.values(def)[0].path.split('/')[1]), tls: !!tls, auth: auth.enabled }, 'frontend listening');
  return {
    port: started.port,
    instances,
    server: started.server,
    auth,
    limits,
    close: async () => {
      await shutdownGrpcServer(started.server);
      await sessions.close();
    },
  };
}

/**
 * TLS for the gRPC port. With a client CA, clients may present a certificate (mTLS): one that verifies against that CA
 * identifies the caller by its common name (see the auth file's `certificate` entries); callers without one still
 * authenticate with a bearer token. The files are re-read every minute, so certificates can be rotated in place.
 */
async function serverCredentials(tls: NonNullable<ServerConfig['security']['tls']>): Promise<ServerCredentials> {
  const cert = await fsp.readFile(tls.certFile);
  const key = await fsp.readFile(tls.keyFile);
  if (!tls.clientCaFile) return ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
  await fsp.access(tls.clientCaFile); // fail at start-up, not at the first handshake
  const files = new experimental.FileWatcherCertificateProvider({ certificateFile: tls.certFile, privateKeyFile: tls.keyFile, caCertificateFile: tls.clientCaFile, refreshIntervalMs: 60_000 });
  return experimental.createCertificateProviderServerCredentials(files, files, false);
}
