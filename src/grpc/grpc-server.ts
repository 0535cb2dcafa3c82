import { Server, ServerCredentials, ServerInterceptor, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

export interface GrpcServerOptions {
  host: string;
  port: number;
  /** Largest request or response message (batch RPCs); a little above max_batch_total_size_bytes. */
  maxMessageBytes: number;
  credentials?: ServerCredentials;
  /** Server interceptors, outermost first (e.g. RPC metrics). */
  interceptors?: ServerInterceptor[];
}

/** A grpc-js server with the channel options this backend relies on (message size, HTTP/2 windows, keepalive). */
export async function startGrpcServer(options: GrpcServerOptions, services: [ServiceDefinition, UntypedServiceImplementation][]): Promise<{ server: Server; port: number }> {
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    // The default 64 KiB HTTP/2 window throttles ByteStream reads; 8 MiB keeps large transfers flowing.
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    ...(options.interceptors?.length ? { interceptors: options.interceptors } : {}),
  });
  for (const [def, impl] of services) server.addService(def, impl);
  const port = await new Promise<number>((resolve, reject) => {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    server.bindAsync(`${host}:${options.port}`, options.credentials ?? ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
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
