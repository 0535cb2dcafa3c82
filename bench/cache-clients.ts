import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import Long from 'long';
import { startFrontend } from '../src/cmd/frontend';
import { defaultConfig, ServerConfig } from '../src/config/server-config';
import { ByteStreamService, ContentAddressableStorageService } from '../src/grpc/service-definitions';
import { silentLogger } from '../src/logging/logger';
import { asBuffer, bytestream, ByteStreamPb, re, REv2 } from '../src/proto';

/** A frontend on a temp-dir disk store and raw CAS/ByteStream clients, for benches over real gRPC on loopback. */
export interface BenchServer {
  findMissing(req: REv2.IFindMissingBlobsRequest): Promise<REv2.FindMissingBlobsResponse>;
  batchUpdate(req: REv2.IBatchUpdateBlobsRequest): Promise<REv2.BatchUpdateBlobsResponse>;
  batchRead(req: REv2.IBatchReadBlobsRequest): Promise<REv2.BatchReadBlobsResponse>;
  /** ByteStream Write of `data` in 1 MiB requests under `{pathPrefix}{hash}/{size}`; resolves with committed_size. */
  write(blobPath: string, data: Buffer): Promise<number>;
  /** ByteStream Read; resolves with the bytes received. */
  read(resourceName: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startBenchServer(configure: (c: ServerConfig) => void = () => undefined): Promise<BenchServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-cache-'));
  const config = defaultConfig(dir);
  config.listen = '127.0.0.1:0';
  configure(config);
  const fe = await startFrontend(config, silentLogger());
  const address = `127.0.0.1:${fe.port}`;
  const opts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc-node.flow_control_window': 8 * 1024 * 1024 };
  const cas = new (makeGenericClientConstructor(ContentAddressableStorageService, 'Cas'))(address, credentials.createInsecure(), opts) as unknown as Record<string, Function> & { close(): void };
  const bs = new (makeGenericClientConstructor(ByteStreamService, 'Bs'))(address, credentials.createInsecure(), opts) as unknown as Record<string, Function> & { close(): void };
  const unary = <Res>(method: string, req: unknown) => new Promise<Res>((resolve, reject) => cas[method](req, (e: Error | null, r: Res) => (e ? reject(e) : resolve(r))));
  return {
    findMissing: (req) => unary('findMissingBlobs', re.FindMissingBlobsRequest.create(req as REv2.FindMissingBlobsRequest)),
    batchUpdate: (req) => unary('batchUpdateBlobs', re.BatchUpdateBlobsRequest.create(req as REv2.BatchUpdateBlobsRequest)),
    batchRead: (req) => unary('batchReadBlobs', re.BatchReadBlobsRequest.create(req as REv2.BatchReadBlobsRequest)),
    write: (blobPath, data) =>
      new Promise<number>((resolve, reject) => {
        const call = bs.write((e: Error | null, r: ByteStreamPb.WriteResponse) => (e ? reject(e) : resolve(Long.fromValue(r.committedSize).toNumber())));
        const name = `uploads/${randomUUID()}/${blobPath}`;
        const chunk = 1024 * 1024;
        for (let off = 0; off < Math.max(data.byteLength, 1); off += chunk) {
          call.write(bytestream.WriteRequest.create({ resourceName: off === 0 ? name : '', writeOffset: Long.fromNumber(off), data: data.subarray(off, off + chunk), finishWrite: off + chunk >= data.byteLength }));
        }
        call.end();
      }),
    read: (resourceName) =>
      new Promise<Buffer>((resolve, reject) => {
        const call = bs.read(bytestream.ReadRequest.create({ resourceName }));
        const chunks: Buffer[] = [];
        call.on('data', (r: ByteStreamPb.ReadResponse) => chunks.push(asBuffer(r.data)));
        call.on('end', () => resolve(Buffer.concat(chunks)));
        call.on('error', reject);
      }),
    close: async () => {
      cas.close();
      bs.close();
      await fe.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
