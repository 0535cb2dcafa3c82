import { Metadata, Responder, ServerInterceptingCall, ServerInterceptingCallInterface, ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { packAny, rpc } from '../proto';
import { toDuration } from '../util/proto-time';
import { CallLimits } from './call-limits';
import { callInternals } from './call-internals';
import { toServiceError } from './rpc-status';
import { Code, StatusError } from './status-error';

export interface LimitsInterceptorOptions {
  limits: CallLimits;
  /** The caller's authenticated identity (token or certificate name); undefined: it is known by its peer address. */
  identify(metadata: Metadata, call: ServerInterceptingCallInterface): string | undefined;
  logger: Logger;
}

const DOMAIN = 'rustexec';

/**
 * Per-client limits on every gRPC call, before any handler runs: a client over its concurrency limit is refused with
 * RESOURCE_EXHAUSTED and a RetryInfo; a request message over its size limit is refused as soon as its length is known;
 * a call that waits on its client (for the next request message, or for room to send a response) longer than
 * `idleTimeout` is ended with DEADLINE_EXCEEDED, so a client that opens streams and sends nothing holds nothing for
 * long. A call the server is busy with (an Execute stream waiting for its action, a handler reading a file) is never
 * idle: only waiting on the client counts. Install it outermost, so the statuses it sends pass the other interceptors.
 */
export function limitsInterceptor(o: LimitsInterceptorOptions): ServerInterceptor {
  const sweeper = new IdleSweeper(o.limits.config.idleTimeoutMs);
  const refusals = new RefusalLog(o.logger);
  return (method, call) => new LimitedCall(call, new CallState(method.path, o, sweeper, refusals));
}

class LimitedCall extends ServerInterceptingCall {
  constructor(
    next: ServerInterceptingCallInterface,
    private readonly state: CallState,
  ) {
    super(next, state.responder());
    state.call = this;
  }

  override startRead(): void {
    this.state.readWanted();
    super.startRead();
  }

  override sendMessage(message: unknown, callback: () => void): void {
    this.state.sending();
    super.sendMessage(message, () => {
      this.state.sent();
      callback();
    });
  }
}

/** One call's slot and what it is waiting for. */
class CallState {
  call!: LimitedCall;
  client = '';
  private release?: () => void;
  private finished = false;
  /** Since when the handler has wanted a request message (0: it does not). */
  private readSince = 0;
  private pendingSends = 0;
  /** Since when a response has waited for the client to take it (reset whenever one goes out). */
  private sendSince = 0;

  constructor(
    private readonly path: string,
    private readonly o: LimitsInterceptorOptions,
    private readonly sweeper: IdleSweeper,
    private readonly refusals: RefusalLog,
  ) {}

  /** "ByteStream.Write" for "/google.bytestream.ByteStream/Write". */
  get method(): string {
    const [, service = '', name = this.path] = /^\/(?:.*\.)?([^./]+)\/([^/]+)$/.exec(this.path) ?? [];
    return service ? `${service}.${name}` : name;
  }

  responder(): Responder {
    return {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (this.admit(metadata)) nextMetadata(metadata);
          },
          onReceiveMessage: (message, nextMessage) => {
            this.readSince = 0;
            nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            this.readSince = 0;
            nextHalfClose();
          },
          onCancel: () => this.finish(),
        }),
      sendStatus: (status, next) => {
        this.finish();
        next(status);
      },
    };
  }

  /** Takes a slot for the caller and sets its message limit; false (and the call refused) at the concurrency limit. */
  private admit(metadata: Metadata): boolean {
    const { limits } = this.o;
    this.client = this.o.identify(metadata, this.call) ?? peerAddress(this.call);
    const own = limits.of(this.client);
    this.release = limits.acquire(this.client, own.maxConcurrentCalls);
    if (!this.release) {
      const retryMs = limits.config.retryDelayMs;
      const override = `limits.clients[${JSON.stringify(this.client)}].maxConcurrentCalls`;
      this.refusals.note(this.client, this.method, 'concurrency');
      this.end(
        new StatusError(
          Code.RESOURCE_EXHAUSTED,
          `client "${this.client}" already has ${own.maxConcurrentCalls} calls in flight, this server's limit per client (limits.maxConcurrentCalls): retry ${this.method} after ${retryMs / 1000} s (RetryInfo), or ask the operator to raise ${override}`,
          [packAny(rpc.RetryInfo, rpc.RetryInfo.create({ retryDelay: toDuration(retryMs) })), errorInfo('CLIENT_CONCURRENCY_LIMIT', this.client, own.maxConcurrentCalls)],
        ),
      );
      return false;
    }
    callInternals.receiveLimit(this.call, own.maxMessageBytes, (length) => {
      this.refusals.note(this.client, this.method, 'message size');
      this.end(
        new StatusError(
          Code.RESOURCE_EXHAUSTED,
          `${this.method} request message of ${length} bytes exceeds the limit of ${own.maxMessageBytes} bytes per message for client "${this.client}" (limits.maxMessageSize): send smaller messages (ByteStream Write chunks; batches within GetCapabilities' max_batch_total_size_bytes); retrying the same message will not help`,
          [errorInfo('MESSAGE_TOO_LARGE', this.client, own.maxMessageBytes)],
        ),
      );
    });
    this.sweeper.add(this);
    return true;
  }

  readWanted(): void {
    if (this.readSince === 0) this.readSince = Date.now();
  }

  sending(): void {
    if (this.pendingSends++ === 0) this.sendSince = Date.now();
  }

  sent(): void {
    this.pendingSends--;
    this.sendSince = Date.now();
  }

  /** Whether the call has waited on its client longer than `idleMs`. */
  isIdle(now: number, idleMs: number): boolean {
    return (this.readSince > 0 && now - this.readSince > idleMs) || (this.pendingSends > 0 && now - this.sendSince > idleMs);
  }

  /** Ends the call if it has waited on its client longer than `idleMs`. */
  checkIdle(now: number, idleMs: number): void {
    if (this.finished) return;
    const s = idleMs / 1000;
    if (this.readSince > 0 && now - this.readSince > idleMs) {
      this.refusals.note(this.client, this.method, 'idle timeout (sent nothing)');
      this.end(new StatusError(Code.DEADLINE_EXCEEDED, `no request message arrived for ${s} s (limits.idleTimeout): the server closed ${this.method} to free its resources; send requests without long pauses (an interrupted ByteStream upload resumes from QueryWriteStatus's committed_size)`));
      // A client that sends nothing may not end its side either: then the HTTP/2 stream is reset shortly after.
      callInternals.closeAfter(this.call, Math.min(idleMs, 1000));
    } else if (this.pendingSends > 0 && now - this.sendSince > idleMs) {
      this.refusals.note(this.client, this.method, 'idle timeout (stopped reading)');
      this.end(new StatusError(Code.DEADLINE_EXCEEDED, `the client took no response message of ${this.method} for ${s} s (limits.idleTimeout): the server closed the call to free its resources`));
      // Its status cannot reach a client that does not read: reset the stream, which frees it now.
      callInternals.reset(this.call);
    }
  }

  private end(err: StatusError): void {
    const { code, details, metadata } = toServiceError(err);
    this.call.sendStatus({ code: code!, details: details!, metadata: metadata! });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.release?.();
    this.sweeper.remove(this);
  }
}

function errorInfo(reason: string, client: string, limit: number) {
  return packAny(rpc.ErrorInfo, rpc.ErrorInfo.create({ reason, domain: DOMAIN, metadata: { client, limit: String(limit) } }));
}

/** The caller's IP address ("::ffff:10.0.0.1" is 10.0.0.1). */
function peerAddress(call: ServerInterceptingCallInterface): string {
  const a = call.getConnectionInfo().remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** One timer for all calls: checks each waiting call a few times per idle period (precision: a tenth of it). */
class IdleSweeper {
  private readonly calls = new Set<CallState>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly idleMs: number) {}

  add(c: CallState): void {
    if (this.idleMs <= 0) return;
    this.calls.add(c);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), Math.min(1000, Math.max(20, this.idleMs / 10)));
      this.timer.unref();
    }
  }

  remove(c: CallState): void {
    this.calls.delete(c);
    if (this.calls.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private sweep(): void {
    const now = Date.now();
    const idle = [...this.calls].filter((c) => c.isIdle(now, this.idleMs));
    if (idle.length === 0) return;
    // Timers run before I/O in each turn of the event loop: on a busy server a request may sit unread in the socket.
    // Checking again after this turn's I/O keeps the server's own lag from counting as the client's idleness.
    setImmediate(() => {
      const later = Date.now();
      for (const c of idle) c.checkIdle(later, this.idleMs);
    });
  }
}

/**
 * Calls refused or ended by a limit are logged at info (a client's doing, not a server fault), at most once per client
 * and reason every 10 s: a client over its limit retries often, and a slow-loris client opens many streams.
 */
class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly logger: Logger) {}

  note(client: string, method: string, reason: string): void {
    const key = `${reason}\n${client}`;
    const now = Date.now();
    const l = this.last.get(key);
    if (l && now - l.at < 10_000) {
      l.suppressed++;
      return;
    }
    this.last.set(key, { at: now, suppressed: 0 });
    if (this.last.size > 10_000) this.last.clear();
    this.logger.info({ client, method, reason, sinceLastLine: l?.suppressed ?? 0 }, `a call ended by the client's ${reason} limit`);
  }
}
