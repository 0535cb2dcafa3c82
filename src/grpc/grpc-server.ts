import { Server, ServerCredentials, ServerInterceptor, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { installZeroCopyFraming } from './framed-message';
import { serverReceiveWindow } from './http2-windows';

/** HTTP/2 receive window for uploads (the window for reads is the client's to set). */
const RECEIVE_WINDOW = 8 * 1024 * 1024;

export interface GrpcServerOptions {
  host: string;
  port: number;
  /** Largest response message (batch RPCs); a little above max_batch_total_size_bytes. */
  maxMessageBytes: number;
  /** Largest request message anyone may send (default: maxMessageBytes); per-client limits sit below it. */
  maxReceiveMessageBytes?: number;
  credentials?: ServerCredentials;
  /** Server interceptors, innermost first (grpc-js wraps each around the ones before it). */
  interceptors?: ServerInterceptor[];
}

/** A grpc-js server with the channel options this backend relies on (message size, HTTP/2 windows, keepalive). */
export async function startGrpcServer(options: GrpcServerOptions, services: [ServiceDefinition, UntypedServiceImplementation][]): Promise<{ server: Server; port: number }> {
  installZeroCopyFraming();
  const server = new Server({
    // channelz keeps per-call statistics and traces nobody reads here; it costs a few µs on every call.
    'grpc.enable_channelz': 0,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    ...(options.interceptors?.length ? { interceptors: options.interceptors } : {}),
  });
  for (const [def, impl] of services) server.addService(def, impl);
  serverReceiveWindow.beforeBind(server, RECEIVE_WINDOW);
  const port = await new Promise<number>((resolve, reject) => {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    server.bindAsync(`${host}:${options.port}`, options.credentials ?? ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  serverReceiveWindow.afterBind(server, RECEIVE_WINDOW);
  return { server, port };
}

export function shutdownGrpcServer(server: Server, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
