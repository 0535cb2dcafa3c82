import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { putBlob, readBlob } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { Code, StatusError } from '../grpc/status-error';
import { OK_STATUS, toRpcStatus } from '../grpc/rpc-status';
import { serverStreaming, unary, writeMessage } from '../grpc/handlers';
import { asBuffer, re, REv2 } from '../proto';
import { Instances } from './instance';
import { walkTree } from './tree-walker';

export interface CasServiceOptions {
  maxBatchTotalSizeBytes: number;
  /** Directories per GetTree response when the client does not ask for fewer. */
  maxTreePageSize?: number;
}

export function casService(instances: Instances, options: CasServiceOptions, logger: Logger): UntypedServiceImplementation {
  const maxPage = options.maxTreePageSize ?? 5000;
  return {
    findMissingBlobs: unary(logger, 'FindMissingBlobs', async (req: REv2.FindMissingBlobsRequest) => {
      const inst = instances.get(req.instanceName, req.digestFunction);
      const digests = req.blobDigests.map((d, i) => instances.digest(inst, d, `blob_digests[${i}]`));
      const missing = await inst.cas.findMissing(digests);
      return re.FindMissingBlobsResponse.create({ missingBlobDigests: missing.map((d) => d.toProto()) });
    }),

    batchUpdateBlobs: unary(logger, 'BatchUpdateBlobs', async (req: REv2.BatchUpdateBlobsRequest) => {
      const inst = instances.get(req.instanceName, req.digestFunction);
      const total = req.requests.reduce((n, r) => n + (r.data?.byteLength ?? 0), 0);
      checkBatchSize(total, options.maxBatchTotalSizeBytes, 'BatchUpdateBlobs');
      const responses = await Promise.all(
        req.requests.map(async (r, i) => {
          try {
            const digest = instances.digest(inst, r.digest, `requests[${i}].digest`);
            if (r.compressor) throw new StatusError(Code.INVALID_ARGUMENT, `requests[${i}]: compressor ${r.compressor} is not supported (none is advertised)`);
            await putBlob(inst.cas, digest, asBuffer(r.data));
            return { digest: r.digest, status: OK_STATUS };
          } catch (err) {
            return { digest: r.digest, status: toRpcStatus(err) };
          }
        }),
      );
      return re.BatchUpdateBlobsResponse.create({ responses });
    }),

    batchReadBlobs: unary(logger, 'BatchReadBlobs', async (req: REv2.BatchReadBlobsRequest) => {
      const inst = instances.get(req.instanceName, req.digestFunction);
      const parsed = req.digests.map((d, i) => {
        try {
          return instances.digest(inst, d, `digests[${i}]`);
        } catch (err) {
          return err as StatusError;
        }
      });
      const total = parsed.reduce((n, d) => n + (d instanceof Digest ? d.size : 0), 0);
      checkBatchSize(total, options.maxBatchTotalSizeBytes, 'BatchReadBlobs');
      const responses = await Promise.all(
        parsed.map(async (d, i) => {
          try {
            if (!(d instanceof Digest)) throw d;
            return { digest: req.digests[i], data: await readBlob(inst.cas, d), status: OK_STATUS };
          } catch (err) {
            return { digest: req.digests[i], status: toRpcStatus(err) };
          }
        }),
      );
      return re.BatchReadBlobsResponse.create({ responses });
    }),

    getTree: serverStreaming(logger, 'GetTree', async (req: REv2.GetTreeRequest, call: ServerWritableStream<REv2.GetTreeRequest, REv2.GetTreeResponse>) => {
      const inst = instances.get(req.instanceName, req.digestFunction);
      const root = instances.digest(inst, req.rootDigest, 'root_digest');
      if (req.pageSize < 0) throw new StatusError(Code.INVALID_ARGUMENT, `page_size ${req.pageSize} is negative`);
      const pageSize = Math.min(req.pageSize || maxPage, maxPage);
      for await (const page of walkTree(inst.cas, root, pageSize, req.pageToken)) {
        if (call.cancelled) return;
        await writeMessage(call, re.GetTreeResponse.create({ directories: page.directories, nextPageToken: page.nextPageToken }));
      }
    }),
  };
}

function checkBatchSize(total: number, max: number, rpcName: string): void {
  if (total > max) {
    throw new StatusError(Code.INVALID_ARGUMENT, `${rpcName}: ${total} bytes in one batch exceed max_batch_total_size_bytes (${max}); use ByteStream for large blobs`);
  }
}
