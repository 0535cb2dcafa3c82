import { replyJson, replyText } from './http-reply';
import { HttpRoutes } from './http-routes';

/** Resolves when the dependency is usable; throws (or rejects) with the reason when it is not. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  /** A check that has not answered after this long counts as failed. */
  timeoutMs?: number;
  /** A result is reused this long, so probes from several kubelets/load balancers cost one round of checks. */
  cacheMs?: number;
  now?: () => number;
}

export interface Readiness {
  ready: boolean;
  /** "ok" or the reason, per check. */
  checks: Record<string, string>;
}

/**
 * Liveness and readiness. /healthz answers while the event loop runs (a wedged process stops answering and is
 * restarted); /readyz runs the registered checks (storage reachable, scheduler connected) and answers 503 with the
 * reasons until all pass, so a load balancer sends no traffic to a process that cannot serve it.
 */
export class Health {
  private readonly checks = new Map<string, ReadinessCheck>();
  private cached?: { at: number; result: Promise<Readiness> };
  private readonly now: () => number;

  constructor(private readonly options: HealthOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  addCheck(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" is already registered`);
    this.checks.set(name, check);
  }

  readiness(): Promise<Readiness> {
    const now = this.now();
    if (this.cached && now - this.cached.at < (this.options.cacheMs ?? 1000)) return this.cached.result;
    const result = this.runChecks();
    this.cached = { at: now, result };
    return result;
  }

  /** Mounts GET /healthz and GET /readyz (public: probes carry no token). */
  mount(routes: HttpRoutes): void {
    routes.register('GET', '/healthz', ({ res }) => replyText(res, 200, 'ok'), { access: 'public' });
    routes.register(
      'GET',
      '/readyz',
      async ({ res }) => {
        const r = await this.readiness();
        replyJson(res, r.ready ? 200 : 503, r);
      },
      { access: 'public' },
    );
  }

  private async runChecks(): Promise<Readiness> {
    const timeoutMs = this.options.timeoutMs ?? 3000;
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]): Promise<[string, string]> => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return [name, 'ok'];
        } catch (err) {
          return [name, (err as Error).message || String(err)];
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { ready: entries.every(([, v]) => v === 'ok'), checks: Object.fromEntries(entries) };
  }
}
