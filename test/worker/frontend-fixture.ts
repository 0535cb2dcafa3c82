import { ChannelCredentials, Client, makeGenericClientConstructor } from '@grpc/grpc-js';
import { GrpcBlobStore, GrpcBlobStoreOptions } from '../../src/blobstore/grpc/grpc-blob-store';
import { Frontend, startFrontend } from '../../src/cmd/frontend';
import { defaultConfig } from '../../src/config/server-config';
import { ByteStreamService, ContentAddressableStorageService } from '../../src/grpc/service-definitions';
import { silentLogger } from '../../src/logging/logger';

export interface TestFrontend {
  frontend: Frontend;
  address: string;
  store(instance?: string, options?: GrpcBlobStoreOptions): GrpcBlobStore;
  close(): Promise<void>;
}

/** A real frontend on loopback with in-memory storage, and gRPC clients for the worker's BlobStore. */
export async function startTestFrontend(dataDir: string): Promise<TestFrontend> {
  const config = defaultConfig(dataDir);
  config.listen = '127.0.0.1:0';
  config.instances = { '': { digestFunction: 'sha256', cas: { memory: { maxBytes: 256 * 1024 * 1024 } }, ac: { memory: { maxBytes: 1e7 } } } };
  const frontend = await startFrontend(config, silentLogger());
  const address = `127.0.0.1:${frontend.port}`;
  const creds = ChannelCredentials.createInsecure();
  const clients: { cas: Client; byteStream: Client } = {
    cas: new (makeGenericClientConstructor(ContentAddressableStorageService, 'CAS'))(address, creds),
    byteStream: new (makeGenericClientConstructor(ByteStreamService, 'ByteStream'))(address, creds),
  };
  return {
    frontend,
    address,
    store: (instance = '', options) => new GrpcBlobStore(clients, instance, options),
    close: async () => {
      clients.cas.close();
      clients.byteStream.close();
      await frontend.close();
    },
  };
}
