import { createHash, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import JSON5 from 'json5';
import { ConfigError, expectBoolean, expectObject, expectString } from '../config/config-reader';

/**
 * Who is calling: a client allowed on some instances, a worker (allowed on the worker protocol and every CAS), a
 * metrics reader (a scraper such as Prometheus: the HTTP side port's /metrics only, no gRPC at all), or a viewer (the
 * dashboard's pages and API only: it sees builds but can neither execute nor read or write the caches).
 */
export interface Principal {
  name: string;
  kind: 'client' | 'worker' | 'metrics' | 'viewer';
  /** Instance names this principal may use; `*` allows all. */
  instances: ReadonlySet<string>;
}

interface Entry {
  principal: Principal;
  /** SHA-256 of the bearer token, when the entry has one. */
  sha256?: Buffer;
  /** Common name of a client certificate (mTLS) that identifies this principal, when the entry has one. */
  certificate?: string;
}

/**
 * Bearer tokens from a JSON5 file:
 * `{ clients: [{ name, token, instances: ["", "main"] | ["*"] }], workers: [{ name, token }], metrics: [{ name, token }],
 *    viewers: [{ name, token }] }`.
 * Tokens are kept only as SHA-256 hashes and compared in constant time. Instead of (or as well as) a token, an entry
 * may name `certificate: "<common name>"`: a client certificate with that CN, verified against the server's
 * `tls.clientCaFile`, identifies it (mTLS).
 */
export class TokenStore {
  private constructor(private readonly entries: Entry[]) {}

  static parse(text: string, source: string): TokenStore {
    let raw: unknown;
    try {
      raw = JSON5.parse(text);
    } catch (err) {
      throw new ConfigError(`${source}: not valid JSON5: ${(err as Error).message}`);
    }
    const o = expectObject(raw, source, ['clients', 'workers', 'metrics', 'viewers']);
    const entries: Entry[] = [];
    const read = (list: unknown, key: string, kind: Principal['kind']) => {
      if (list === undefined) return;
      if (!Array.isArray(list)) throw new ConfigError(`${source}.${key}: expected a list`);
      list.forEach((item, i) => {
        const at = `${source}.${key}[${i}]`;
        const e = expectObject(item, at, kind === 'client' ? ['name', 'token', 'certificate', 'instances', 'disabled'] : ['name', 'token', 'certificate', 'disabled']);
        if (e.token === undefined && e.certificate === undefined) throw new ConfigError(`${at}: give a "token" or a "certificate" (client certificate common name)`);
        const token = e.token === undefined ? undefined : expectString(e.token, `${at}.token`);
        if (token !== undefined && token.length < 16) throw new ConfigError(`${at}.token: use at least 16 characters (e.g. \`openssl rand -hex 32\`)`);
        const certificate = e.certificate === undefined ? undefined : expectString(e.certificate, `${at}.certificate`);
        if (certificate === '') throw new ConfigError(`${at}.certificate: the common name is empty`);
        if (e.disabled !== undefined && expectBoolean(e.disabled, `${at}.disabled`)) return;
        const instances = kind === 'worker' ? ['*'] : kind === 'metrics' || kind === 'viewer' ? [] : readInstances(e.instances, `${at}.instances`);
        entries.push({ principal: { name: expectString(e.name, `${at}.name`), kind, instances: new Set(instances) }, sha256: token === undefined ? undefined : sha256(token), certificate });
      });
    };
    read(o.clients, 'clients', 'client');
    read(o.workers, 'workers', 'worker');
    read(o.metrics, 'metrics', 'metrics');
    read(o.viewers, 'viewers', 'viewer');
    if (entries.length === 0) throw new ConfigError(`${source}: no tokens or certificates defined`);
    return new TokenStore(entries);
  }

  static async load(file: string): Promise<TokenStore> {
    return TokenStore.parse(await fsp.readFile(file, 'utf8'), file);
  }

  /** A copy that also accepts `token` as a worker (the all-in-one's own local workers). */
  withWorkerToken(name: string, token: string): TokenStore {
    return new TokenStore([...this.entries, { principal: { name, kind: 'worker', instances: new Set(['*']) }, sha256: sha256(token) }]);
  }

  /** The principal for a bearer token, or undefined when it matches none. */
  authenticate(token: string): Principal | undefined {
    const h = sha256(token);
    let found: Principal | undefined;
    for (const e of this.entries) if (e.sha256 && timingSafeEqual(h, e.sha256)) found = e.principal;
    return found;
  }

  /** The principal a verified client certificate's common name stands for, or undefined when none is listed. */
  byCertificate(commonName: string): Principal | undefined {
    return this.entries.find((e) => e.certificate === commonName)?.principal;
  }
}

function readInstances(v: unknown, at: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`${at}: expected a non-empty list of instance names (or ["*"])`);
  return v.map((x, i) => expectString(x, `${at}[${i}]`));
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
