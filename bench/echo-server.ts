import type { MethodDefinition, ServerDuplexStream, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { startGrpcServer } from '../src/grpc/grpc-server';

/** Raw bytes in and out: the baseline does no protobuf work at all. */
const raw = <Req extends boolean, Res extends boolean>(name: string, requestStream: Req, responseStream: Res): MethodDefinition<Buffer, Buffer> => ({
  path: `/bench.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});

/** The baseline service: a bidi stream that sends every message back, and a unary echo. */
export const EchoService = {
  stream: raw('Stream', true, true),
  unary: raw('Unary', false, false),
};

/**
 * A minimal grpc-js echo server in its own process (`node echo-server.js` prints its port): the Node-to-Node
 * baseline the cache rows are measured against, with the same server options as the backend.
 */
async function main(): Promise<void> {
  const { port } = await startGrpcServer({ host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024 * 1024 }, [
    [
      EchoService,
      {
        stream: (call: ServerDuplexStream<Buffer, Buffer>) => {
          call.on('data', (b: Buffer) => {
            if (!call.write(b)) {
              call.pause();
              call.once('drain', () => call.resume());
            }
          });
          call.on('end', () => call.end());
        },
        unary: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, call.request),
      },
    ],
  ]);
  process.stdout.write(`${port}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
