import type { ClientLimits, LimitsConfig } from '../config/server-config';

/** One client's limits with every default filled in. */
export type ResolvedLimits = Required<ClientLimits>;

/**
 * Per-client accounting for the limits interceptor: who may hold how many calls and how large a message. A client is
 * an authenticated identity (token or certificate name) or, without auth, a peer IP address.
 */
export class CallLimits {
  private readonly counts = new Map<string, number>();

  constructor(
    readonly config: LimitsConfig,
    /** The message limit for clients without an override (config's maxMessageBytes, or what the server derives). */
    private readonly defaultMessageBytes: number,
  ) {}

  of(client: string): ResolvedLimits {
    const o = this.config.clients[client];
    return { maxConcurrentCalls: o?.maxConcurrentCalls ?? this.config.maxConcurrentCalls, maxMessageBytes: o?.maxMessageBytes ?? this.config.maxMessageBytes ?? this.defaultMessageBytes };
  }

  /** Takes one of the client's call slots: a function that gives it back (once), or undefined at the limit. */
  acquire(client: string, max = this.of(client).maxConcurrentCalls): (() => void) | undefined {
    const n = this.counts.get(client) ?? 0;
    if (n >= max) return undefined;
    this.counts.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(client) ?? 1) - 1;
      if (left > 0) this.counts.set(client, left);
      else this.counts.delete(client);
    };
  }

  /** Calls `client` has in flight now. */
  inFlight(client: string): number {
    return this.counts.get(client) ?? 0;
  }

  /** Calls in flight over all clients. */
  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }
}
