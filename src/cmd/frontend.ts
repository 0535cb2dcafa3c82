import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CompletenessCheckingActionCache } from '../actioncache/completeness-checking-action-cache';
import { newActionCache, newBlobStore } from '../blobstore/configuration/new-blob-store';
import { ServerConfig } from '../config/server-config';
import { digestFunctionByName } from '../digest/digest-function';
import { startGrpcServer, shutdownGrpcServer } from '../grpc/grpc-server';
import { parseListenAddress } from '../grpc/listen-address';
import { ActionCacheService, ByteStreamService, CapabilitiesService, ContentAddressableStorageService } from '../grpc/service-definitions';
import { actionCacheService } from '../services/action-cache-service';
import { byteStreamService } from '../services/bytestream-service';
import { capabilitiesService } from '../services/capabilities-service';
import { casService } from '../services/cas-service';
import { Instance, Instances } from '../services/instance';
import { UploadSessions } from '../services/upload-sessions';

export interface Frontend {
  port: number;
  instances: Instances;
  server: Server;
  close(): Promise<void>;
}

/** Extra services (Execution) composed by the caller on top of the cache services. */
export type ExtraServices = (instances: Instances) => [ServiceDefinition, UntypedServiceImplementation][];

/** Builds every instance's storage from config and serves the cache APIs. The composition is visible here. */
export async function startFrontend(config: ServerConfig, logger: Logger, extra?: ExtraServices): Promise<Frontend> {
  const list: Instance[] = [];
  for (const [name, ic] of Object.entries(config.instances)) {
    const digestFunction = digestFunctionByName(ic.digestFunction);
    const cas = await newBlobStore(ic.cas, logger.child({ instance: name }));
    const ac = new CompletenessCheckingActionCache(await newActionCache(ic.ac), cas, digestFunction, logger);
    list.push({ name, digestFunction, cas, ac });
  }
  const instances = new Instances(list);
  const sessions = new UploadSessions(config.uploadIdleMs);
  const extraServices = extra?.(instances) ?? [];
  const execEnabled = extraServices.some(([def]) => 'execute' in def);
  const { host, port } = parseListenAddress(config.listen);
  const started = await startGrpcServer({ host, port, maxMessageBytes: config.maxBatchTotalSizeBytes + 1024 * 1024 }, [
    [CapabilitiesService, capabilitiesService(instances, { maxBatchTotalSizeBytes: config.maxBatchTotalSizeBytes, acUpdateEnabled: config.acUpdateEnabled, execEnabled: () => execEnabled }, logger)],
    [ContentAddressableStorageService, casService(instances, { maxBatchTotalSizeBytes: config.maxBatchTotalSizeBytes }, logger)],
    [ByteStreamService, byteStreamService(instances, sessions, logger)],
    [ActionCacheService, actionCacheService(instances, { updateEnabled: config.acUpdateEnabled, maxInlineBytes: config.maxInlineBytes }, logger)],
    ...extraServices,
  ]);
  logger.info({ address: `${host}:${started.port}`, instances: instances.names, execution: execEnabled }, 'frontend listening');
  return {
    port: started.port,
    instances,
    server: started.server,
    close: async () => {
      await shutdownGrpcServer(started.server);
      await sessions.close();
    },
  };
}
