import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import JSON5 from 'json5';
import { ActionCacheConfig, BlobStoreConfig, parseActionCacheConfig, parseBlobStoreConfig } from '../blobstore/configuration/blob-store-config';
import { digestFunctionByName } from '../digest/digest-function';
import { ConfigError, expectBoolean, expectDuration, expectInteger, expectObject, expectSize, expectString, optional } from './config-reader';

export interface InstanceConfig {
  /** Used when a request names no function (and the hash length selects no other). */
  digestFunction: string;
  /** Functions requests may select with digest_function; absent: every function the server implements. */
  digestFunctions?: string[];
  cas: BlobStoreConfig;
  ac: ActionCacheConfig;
}

export interface ExecutionConfig {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWorkerLosses: number;
  retainCompletedMs: number;
  /** Run a crate's RustcMetadata and Rustc actions as one rustc process. */
  rustFusion: boolean;
  /** An operation no client follows any more (Execute/WaitExecution streams gone) is cancelled after this long; 0: never. */
  abandonAfterMs: number;
  /** A heavy rustc takes as many worker slots as the cores it kept busy last time. */
  sizeAwareSlots: boolean;
}

export interface RemoteAssetConfig {
  allowedHosts: string[];
  timeoutMs: number;
  maxBytes: number;
}

export interface SecurityConfig {
  /** Bearer tokens (see src/auth/token-store.ts); without it, no authentication. */
  tokensFile?: string;
  /** `clientCaFile`: client certificates signed by this CA identify callers (mTLS), next to bearer tokens. */
  tls?: { certFile: string; keyFile: string; caFile?: string; clientCaFile?: string };
  /** Set by the all-in-one for its own local workers; never read from a file. */
  localWorkerToken?: string;
  /** Allow a non-loopback listen address without authentication. */
  insecure: boolean;
}

/** The build dashboard on the HTTP side port (src/dashboard/). */
export interface DashboardConfig {
  enabled: boolean;
  /** Builds kept in memory with every action's timings (the oldest is forgotten first). */
  maxBuilds: number;
  /** Actions recorded per build; more are counted, not kept. */
  maxActionsPerBuild: number;
}

/** What one client may hold at once (src/grpc/call-limits.ts). */
export interface ClientLimits {
  /** Calls in flight at once (Execute/WaitExecution streams and uploads included). */
  maxConcurrentCalls: number;
  /** Largest request message; absent: maxBatchTotalSizeBytes + 1 MiB. */
  maxMessageBytes?: number;
}

export interface LimitsConfig extends ClientLimits {
  /** A call waiting for the client (its next request message, or room to send a response) this long is ended; 0: never. */
  idleTimeoutMs: number;
  /** The RetryInfo delay sent with a refused call. */
  retryDelayMs: number;
  /** Overrides by client identity: a token's or certificate's name, or a peer IP address when there is no auth. */
  clients: Record<string, Partial<ClientLimits>>;
}

export interface ServerConfig {
  /** host:port to listen on. */
  listen: string;
  maxBatchTotalSizeBytes: number;
  /** Whether clients may write the AC (UpdateActionResult). */
  acUpdateEnabled: boolean;
  maxInlineBytes: number;
  uploadIdleMs: number;
  instances: Record<string, InstanceConfig>;
  execution: ExecutionConfig;
  security: SecurityConfig;
  /** Remote Asset API: where FetchBlob may download from (nothing when empty), how long and how much. */
  remoteAsset: RemoteAssetConfig;
  dashboard: DashboardConfig;
  /** Per-client concurrency and message size, and the idle timeout of calls waiting on their client. */
  limits: LimitsConfig;
}

const TOP_KEYS = ['listen', 'maxBatchTotalSizeBytes', 'acUpdateEnabled', 'maxInlineBytes', 'uploadIdle', 'instances', 'execution', 'auth', 'tls', 'insecure', 'dashboard', 'remoteAsset', 'limits'] as const;
const EXECUTION_KEYS = ['defaultTimeout', 'maxTimeout', 'heartbeatInterval', 'maxWorkerLosses', 'retainCompleted', 'rustFusion', 'abandonAfter', 'sizeAwareSlots'] as const;

/** The embedded default: one instance "" on local disk under `dataDir`. */
export function defaultConfig(dataDir: string): ServerConfig {
  const data = path.resolve(dataDir);
  return {
    listen: '127.0.0.1:8980',
    // Just under 4 MiB so a full BatchReadBlobs response fits a client's default 4 MiB receive limit.
    maxBatchTotalSizeBytes: 4 * 1024 * 1024 - 64 * 1024,
    acUpdateEnabled: true,
    maxInlineBytes: 1024 * 1024,
    uploadIdleMs: 10 * 60 * 1000,
    instances: {
      '': {
        digestFunction: 'sha256',
        cas: { existenceCaching: { backend: { filesystem: { path: path.join(data, 'cas'), maxBytes: 20e9 } }, maxEntries: 1_000_000, ttlMs: 60_000 } },
        ac: { filesystem: { path: path.join(data, 'ac'), maxBytes: 1024 ** 3 } },
      },
    },
    security: { insecure: false },
    remoteAsset: { allowedHosts: [], timeoutMs: 5 * 60_000, maxBytes: 4 * 1024 ** 3 },
    dashboard: { enabled: true, maxBuilds: 20, maxActionsPerBuild: 10_000 },
    // Bazel can have about --remote_max_connections (100) × 100 streams in flight; its defaults stay below 10,000.
    limits: { maxConcurrentCalls: 10_000, idleTimeoutMs: 60_000, retryDelayMs: 1000, clients: {} },
    execution: { defaultTimeoutMs: 15 * 60_000, maxTimeoutMs: 3 * 60 * 60_000, heartbeatIntervalMs: 5000, maxWorkerLosses: 3, retainCompletedMs: 10 * 60_000, rustFusion: true, abandonAfterMs: 60_000, sizeAwareSlots: true },
  };
}

/** Parses a JSON/JSON5 config; relative paths are resolved against the config file's directory. */
export function parseServerConfig(text: string, baseDir: string, source = 'config'): ServerConfig {
  let raw: unknown;
  try {
    raw = JSON5.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid JSON5: ${(err as Error).message}`);
  }
  const o = expectObject(raw, source, TOP_KEYS);
  const d = defaultConfig(path.join(baseDir, 'data'));
  const instances: Record<string, InstanceConfig> = {};
  if (o.instances !== undefined) {
    // Any name is allowed here (names are checked below); Object.keys(null) would throw a TypeError, not a ConfigError.
    const inst = expectObject(o.instances, `${source}.instances`, typeof o.instances === 'object' && o.instances !== null ? Object.keys(o.instances) : []);
    for (const [name, v] of Object.entries(inst)) {
      const at = `${source}.instances[${JSON.stringify(name)}]`;
      if (name.split('/').some((s) => ['blobs', 'uploads', 'compressed-blobs', 'actions', 'actionResults', 'operations', 'capabilities'].includes(s))) {
        throw new ConfigError(`${at}: instance names may not contain the reserved segment in "${name}"`);
      }
      const io = expectObject(v, at, ['digestFunction', 'digestFunctions', 'cas', 'ac']);
      const digestFunction = checkDigestFunction(optional(io, 'digestFunction', at, expectString, 'sha256'), `${at}.digestFunction`);
      let digestFunctions: string[] | undefined;
      if (io.digestFunctions !== undefined) {
        if (!Array.isArray(io.digestFunctions) || io.digestFunctions.length === 0) throw new ConfigError(`${at}.digestFunctions: expected a non-empty list of digest function names`);
        digestFunctions = io.digestFunctions.map((f, i) => checkDigestFunction(expectString(f, `${at}.digestFunctions[${i}]`), `${at}.digestFunctions[${i}]`));
        if (!digestFunctions.includes(digestFunction)) throw new ConfigError(`${at}.digestFunctions: must include the default digestFunction "${digestFunction}"`);
      }
      if (io.cas === undefined || io.ac === undefined) throw new ConfigError(`${at}: "cas" and "ac" are required`);
      instances[name] = { digestFunction, digestFunctions, cas: parseBlobStoreConfig(io.cas, `${at}.cas`, baseDir), ac: parseActionCacheConfig(io.ac, `${at}.ac`, baseDir) };
    }
  }
  const config: ServerConfig = {
    listen: optional(o, 'listen', source, expectString, d.listen),
    maxBatchTotalSizeBytes: optional(o, 'maxBatchTotalSizeBytes', source, expectSize, d.maxBatchTotalSizeBytes),
    acUpdateEnabled: optional(o, 'acUpdateEnabled', source, expectBoolean, d.acUpdateEnabled),
    maxInlineBytes: optional(o, 'maxInlineBytes', source, expectSize, d.maxInlineBytes),
    uploadIdleMs: optional(o, 'uploadIdle', source, expectDuration, d.uploadIdleMs),
    instances: Object.keys(instances).length > 0 ? instances : d.instances,
    execution: parseExecutionConfig(o.execution, `${source}.execution`, d.execution),
    security: parseSecurityConfig(o, source, baseDir),
    remoteAsset: parseRemoteAssetConfig(o.remoteAsset, `${source}.remoteAsset`, d.remoteAsset),
    dashboard: parseDashboardConfig(o.dashboard, `${source}.dashboard`, d.dashboard),
    limits: parseLimitsConfig(o.limits, `${source}.limits`, d.limits),
  };
  checkLimits(config, source);
  return config;
}

function parseLimitsConfig(v: unknown, at: string, d: LimitsConfig): LimitsConfig {
  if (v === undefined) return d;
  const o = expectObject(v, at, ['maxConcurrentCalls', 'maxMessageSize', 'idleTimeout', 'retryDelay', 'clients']);
  const clients: Record<string, Partial<ClientLimits>> = {};
  if (o.clients !== undefined) {
    const c = expectObject(o.clients, `${at}.clients`, typeof o.clients === 'object' && o.clients !== null ? Object.keys(o.clients) : []);
    for (const [name, cv] of Object.entries(c)) {
      const cat = `${at}.clients[${JSON.stringify(name)}]`;
      const co = expectObject(cv, cat, ['maxConcurrentCalls', 'maxMessageSize']);
      clients[name] = {};
      if (co.maxConcurrentCalls !== undefined) clients[name].maxConcurrentCalls = expectInteger(co.maxConcurrentCalls, `${cat}.maxConcurrentCalls`, 1);
      if (co.maxMessageSize !== undefined) clients[name].maxMessageBytes = expectSize(co.maxMessageSize, `${cat}.maxMessageSize`);
    }
  }
  const limits: LimitsConfig = {
    maxConcurrentCalls: optional(o, 'maxConcurrentCalls', at, (x, a) => expectInteger(x, a, 1), d.maxConcurrentCalls),
    idleTimeoutMs: optional(o, 'idleTimeout', at, expectDuration, d.idleTimeoutMs),
    retryDelayMs: optional(o, 'retryDelay', at, expectDuration, d.retryDelayMs),
    clients,
  };
  if (o.maxMessageSize !== undefined) limits.maxMessageBytes = expectSize(o.maxMessageSize, `${at}.maxMessageSize`);
  return limits;
}

/** Limits that would break clients following the server's own rules are refused at start-up. */
function checkLimits(c: ServerConfig, source: string): void {
  const sizes: [string, number | undefined][] = [['limits.maxMessageSize', c.limits.maxMessageBytes], ...Object.entries(c.limits.clients).map(([n, l]): [string, number | undefined] => [`limits.clients[${JSON.stringify(n)}].maxMessageSize`, l.maxMessageBytes])];
  for (const [at, bytes] of sizes) {
    if (bytes !== undefined && bytes < c.maxBatchTotalSizeBytes) throw new ConfigError(`${source}.${at}: ${bytes} bytes is below maxBatchTotalSizeBytes (${c.maxBatchTotalSizeBytes}), so batches the server advertises would be refused`);
  }
  // Workers heartbeat on their Connect stream every heartbeatInterval: an idle timeout must leave room for a late one.
  const idle = c.limits.idleTimeoutMs;
  if (idle > 0 && idle < 3 * c.execution.heartbeatIntervalMs) {
    throw new ConfigError(`${source}.limits.idleTimeout: ${idle} ms is below 3 × execution.heartbeatInterval (${c.execution.heartbeatIntervalMs} ms); workers' Connect streams would be cut between heartbeats`);
  }
}

/** The largest request message `limits` allows anyone (grpc-js's own ceiling) and the default per client. */
export function messageLimits(c: Pick<ServerConfig, 'limits' | 'maxBatchTotalSizeBytes'>): { defaultBytes: number; ceilingBytes: number } {
  const defaultBytes = c.limits.maxMessageBytes ?? c.maxBatchTotalSizeBytes + 1024 * 1024;
  const ceilingBytes = Math.max(defaultBytes, ...Object.values(c.limits.clients).map((l) => l.maxMessageBytes ?? 0));
  return { defaultBytes, ceilingBytes };
}

function checkDigestFunction(name: string, at: string): string {
  try {
    return digestFunctionByName(name).name;
  } catch (err) {
    throw new ConfigError(`${at}: ${(err as Error).message}`);
  }
}

function parseRemoteAssetConfig(v: unknown, at: string, d: RemoteAssetConfig): RemoteAssetConfig {
  if (v === undefined) return d;
  const o = expectObject(v as never, at, ['allowedHosts', 'fetchTimeout', 'maxBytes']);
  let allowedHosts = d.allowedHosts;
  if (o.allowedHosts !== undefined) {
    if (!Array.isArray(o.allowedHosts)) throw new ConfigError(`${at}.allowedHosts: expected a list of host names`);
    allowedHosts = o.allowedHosts.map((h, i) => expectString(h, `${at}.allowedHosts[${i}]`));
  }
  return { allowedHosts, timeoutMs: optional(o, 'fetchTimeout', at, expectDuration, d.timeoutMs), maxBytes: optional(o, 'maxBytes', at, expectSize, d.maxBytes) };
}

function parseSecurityConfig(o: Record<string, unknown>, at: string, baseDir: string): SecurityConfig {
  const security: SecurityConfig = { insecure: optional(o, 'insecure', at, expectBoolean, false) };
  if (o.auth !== undefined) {
    const a = expectObject(o.auth, `${at}.auth`, ['tokensFile']);
    if (a.tokensFile === undefined) throw new ConfigError(`${at}.auth: "tokensFile" is required`);
    security.tokensFile = path.resolve(baseDir, expectString(a.tokensFile, `${at}.auth.tokensFile`));
  }
  if (o.tls !== undefined) {
    const t = expectObject(o.tls, `${at}.tls`, ['certFile', 'keyFile', 'caFile', 'clientCaFile']);
    if (t.certFile === undefined || t.keyFile === undefined) throw new ConfigError(`${at}.tls: "certFile" and "keyFile" are required`);
    security.tls = { certFile: path.resolve(baseDir, expectString(t.certFile, `${at}.tls.certFile`)), keyFile: path.resolve(baseDir, expectString(t.keyFile, `${at}.tls.keyFile`)) };
    if (t.caFile !== undefined) security.tls.caFile = path.resolve(baseDir, expectString(t.caFile, `${at}.tls.caFile`));
    if (t.clientCaFile !== undefined) security.tls.clientCaFile = path.resolve(baseDir, expectString(t.clientCaFile, `${at}.tls.clientCaFile`));
  }
  return security;
}

function parseExecutionConfig(v: unknown, at: string, d: ExecutionConfig): ExecutionConfig {
  if (v === undefined) return d;
  const o = expectObject(v, at, EXECUTION_KEYS);
  return {
    defaultTimeoutMs: optional(o, 'defaultTimeout', at, expectDuration, d.defaultTimeoutMs),
    maxTimeoutMs: optional(o, 'maxTimeout', at, expectDuration, d.maxTimeoutMs),
    heartbeatIntervalMs: optional(o, 'heartbeatInterval', at, expectDuration, d.heartbeatIntervalMs),
    maxWorkerLosses: optional(o, 'maxWorkerLosses', at, (x, a) => expectInteger(x, a, 1), d.maxWorkerLosses),
    retainCompletedMs: optional(o, 'retainCompleted', at, expectDuration, d.retainCompletedMs),
    rustFusion: optional(o, 'rustFusion', at, expectBoolean, d.rustFusion),
    abandonAfterMs: optional(o, 'abandonAfter', at, expectDuration, d.abandonAfterMs),
    sizeAwareSlots: optional(o, 'sizeAwareSlots', at, expectBoolean, d.sizeAwareSlots),
  };
}

function parseDashboardConfig(v: unknown, at: string, d: DashboardConfig): DashboardConfig {
  if (v === undefined) return d;
  const o = expectObject(v, at, ['enabled', 'maxBuilds', 'maxActionsPerBuild']);
  return {
    enabled: optional(o, 'enabled', at, expectBoolean, d.enabled),
    maxBuilds: optional(o, 'maxBuilds', at, (x, a) => expectInteger(x, a, 1), d.maxBuilds),
    maxActionsPerBuild: optional(o, 'maxActionsPerBuild', at, (x, a) => expectInteger(x, a, 1), d.maxActionsPerBuild),
  };
}

export async function loadServerConfig(file: string): Promise<ServerConfig> {
  const text = await fsp.readFile(file, 'utf8');
  return parseServerConfig(text, path.dirname(path.resolve(file)), file);
}

export { ConfigError, expectInteger };
