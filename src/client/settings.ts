import * as os from 'node:os';
import * as path from 'node:path';

/** What a client does when the backend cannot be reached: run the tool locally, or fail the call. */
export type Fallback = 'local' | 'fail';

/** The RUSTEXEC_* settings shared by every client front door (the rustc wrapper, the DTLTO distributor). */
export interface ClientSettings {
  /** host:port of the backend. */
  address: string;
  /** grpcs:// */
  tls: boolean;
  /** RUSTEXEC_INSTANCE (default ""). */
  instance: string;
  /** RUSTEXEC_TOKEN_FILE: sent as `authorization: Bearer <token>`. */
  tokenFile?: string;
  /** RUSTEXEC_TLS_CA: the CA to trust for grpcs:// (default: the system's roots). */
  tlsCa?: string;
  /** RUSTEXEC_FALLBACK (default local). */
  fallback: Fallback;
  /** RUSTEXEC_LOG: append one JSON line per call to this file. */
  logFile?: string;
  /** RUSTEXEC_CACHE_DIR: the local digest cache and the unreachable-backend marker (default ~/.cache/rustexec). */
  cacheDir: string;
  /** RUSTEXEC_CONNECT_TIMEOUT_MS (default 5000): how long a call waits for the connection. */
  connectTimeoutMs: number;
  /** RUSTEXEC_QUEUE_TIMEOUT_MS (default 300000): how long an action may wait for a worker before the call gives up. */
  queueTimeoutMs: number;
}

/** Thrown for a setting that cannot be used; the message names the variable. */
export class SettingsError extends Error {}

/**
 * Reads the settings from the environment. Returns undefined when RUSTEXEC_REMOTE is unset or empty: the front door
 * then behaves like the plain tool.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientSettings | undefined {
  const remote = env.RUSTEXEC_REMOTE?.trim();
  if (!remote) return undefined;
  const m = /^(grpcs?):\/\/([^/]+?)\/?$/.exec(remote);
  if (!m) throw new SettingsError(`RUSTEXEC_REMOTE must be grpc://HOST:PORT or grpcs://HOST:PORT, got "${remote}"`);
  const address = m[2];
  if (!/^(\[[0-9a-fA-F:]+\]|[^:]+):\d+$/.test(address)) throw new SettingsError(`RUSTEXEC_REMOTE needs a port: "${remote}"`);
  const fallback = (env.RUSTEXEC_FALLBACK?.trim() || 'local') as Fallback;
  if (fallback !== 'local' && fallback !== 'fail') throw new SettingsError(`RUSTEXEC_FALLBACK must be "local" or "fail", got "${env.RUSTEXEC_FALLBACK}"`);
  const connectTimeoutMs = Number(env.RUSTEXEC_CONNECT_TIMEOUT_MS ?? 5000);
  if (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) throw new SettingsError(`RUSTEXEC_CONNECT_TIMEOUT_MS must be a positive number of ms, got "${env.RUSTEXEC_CONNECT_TIMEOUT_MS}"`);
  const queueTimeoutMs = Number(env.RUSTEXEC_QUEUE_TIMEOUT_MS ?? 300_000);
  if (!Number.isFinite(queueTimeoutMs) || queueTimeoutMs <= 0) throw new SettingsError(`RUSTEXEC_QUEUE_TIMEOUT_MS must be a positive number of ms, got "${env.RUSTEXEC_QUEUE_TIMEOUT_MS}"`);
  return {
    address,
    tls: m[1] === 'grpcs',
    instance: env.RUSTEXEC_INSTANCE ?? '',
    tokenFile: env.RUSTEXEC_TOKEN_FILE || undefined,
    tlsCa: env.RUSTEXEC_TLS_CA || undefined,
    fallback,
    logFile: env.RUSTEXEC_LOG || undefined,
    cacheDir: env.RUSTEXEC_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'rustexec'),
    connectTimeoutMs,
    queueTimeoutMs,
  };
}
