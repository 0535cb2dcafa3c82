import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { asset, bytestream, encode, longrunning, protobuf, re, REv2, worker } from '../proto';
import { decodeFindMissingRequest } from '../services/find-missing-codec';
import { FramedMessage } from './framed-message';

interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
}

function method<Req, Res>(service: string, name: string, req: Codec<Req>, res: Codec<Res>, requestStream: boolean, responseStream: boolean): MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: (m: Req) => encode(req, m),
    requestDeserialize: (b: Buffer) => req.decode(b),
    // A handler may pass a response it encoded itself (see FramedMessage).
    responseSerialize: (m: Res) => (m instanceof FramedMessage ? m.message : encode(res, m)),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

const RE = 'build.bazel.remote.execution.v2';

export const CapabilitiesService = {
  getCapabilities: method(`${RE}.Capabilities`, 'GetCapabilities', re.GetCapabilitiesRequest, re.ServerCapabilities, false, false),
} satisfies ServiceDefinition;

export const ContentAddressableStorageService = {
  findMissingBlobs: {
    ...method(`${RE}.ContentAddressableStorage`, 'FindMissingBlobs', re.FindMissingBlobsRequest, re.FindMissingBlobsResponse, false, false),
    // The server decodes only what its handler reads (10k digests per call from Bazel).
    requestDeserialize: (b: Buffer) => decodeFindMissingRequest(b) as REv2.FindMissingBlobsRequest,
  },
  batchUpdateBlobs: method(`${RE}.ContentAddressableStorage`, 'BatchUpdateBlobs', re.BatchUpdateBlobsRequest, re.BatchUpdateBlobsResponse, false, false),
  batchReadBlobs: method(`${RE}.ContentAddressableStorage`, 'BatchReadBlobs', re.BatchReadBlobsRequest, re.BatchReadBlobsResponse, false, false),
  getTree: method(`${RE}.ContentAddressableStorage`, 'GetTree', re.GetTreeRequest, re.GetTreeResponse, false, true),
} satisfies ServiceDefinition;

export const ActionCacheService = {
  getActionResult: method(`${RE}.ActionCache`, 'GetActionResult', re.GetActionResultRequest, re.ActionResult, false, false),
  updateActionResult: method(`${RE}.ActionCache`, 'UpdateActionResult', re.UpdateActionResultRequest, re.ActionResult, false, false),
} satisfies ServiceDefinition;

export const ExecutionService = {
  execute: method(`${RE}.Execution`, 'Execute', re.ExecuteRequest, longrunning.Operation, false, true),
  waitExecution: method(`${RE}.Execution`, 'WaitExecution', re.WaitExecutionRequest, longrunning.Operation, false, true),
} satisfies ServiceDefinition;

/** google.longrunning.Operations: only CancelOperation (the other methods answer UNIMPLEMENTED). */
export const OperationsService = {
  cancelOperation: method('google.longrunning.Operations', 'CancelOperation', longrunning.CancelOperationRequest, protobuf.Empty, false, false),
} satisfies ServiceDefinition;

export const ByteStreamService = {
  read: method('google.bytestream.ByteStream', 'Read', bytestream.ReadRequest, bytestream.ReadResponse, false, true),
  write: method('google.bytestream.ByteStream', 'Write', bytestream.WriteRequest, bytestream.WriteResponse, true, false),
  queryWriteStatus: method('google.bytestream.ByteStream', 'QueryWriteStatus', bytestream.QueryWriteStatusRequest, bytestream.QueryWriteStatusResponse, false, false),
} satisfies ServiceDefinition;

export const WorkerServiceDefinition = {
  connect: method('rustexec.worker.v1.WorkerService', 'Connect', worker.WorkerMessage, worker.SchedulerMessage, true, true),
} satisfies ServiceDefinition;

const ASSET = 'build.bazel.remote.asset.v1';

export const FetchService = {
  fetchBlob: method(`${ASSET}.Fetch`, 'FetchBlob', asset.FetchBlobRequest, asset.FetchBlobResponse, false, false),
  fetchDirectory: method(`${ASSET}.Fetch`, 'FetchDirectory', asset.FetchDirectoryRequest, asset.FetchDirectoryResponse, false, false),
} satisfies ServiceDefinition;

export const PushService = {
  pushBlob: method(`${ASSET}.Push`, 'PushBlob', asset.PushBlobRequest, asset.PushBlobResponse, false, false),
  pushDirectory: method(`${ASSET}.Push`, 'PushDirectory', asset.PushDirectoryRequest, asset.PushDirectoryResponse, false, false),
} satisfies ServiceDefinition;
