import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { putBlob, readBlob } from '../blobstore/blob-io';
import { checkCompressorValue, MIN_COMPRESS_BYTES, ZSTD, ZSTD_SERVE_LEVEL } from '../compression/compressor';
import { compressBuffer, decompressExactly } from '../compression/zstd';
import { Digest, DigestFields } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { Code, StatusError } from '../grpc/status-error';
import { OK_STATUS, toRpcStatus } from '../grpc/rpc-status';
import { serverStreaming, unary, writeMessage } from '../grpc/handlers';
import { asBuffer, re, REv2 } from '../proto';
import { encodeFindMissingResponse, FindMissingRequest } from './find-missing-codec';
import { Instances } from './instance';
import { readBatchFrame } from './batch-read-frame';
import { walkTree } from './tree-walker';

export interface CasServiceOptions {
  maxBatchTotalSizeBytes: number;
  /** Directories per GetTree response when the client does not ask for fewer. */
  maxTreePageSize?: number;
}

export function casService(instances: Instances, options: CasServiceOptions, logger: Logger): UntypedServiceImplementation {
  const maxPage = options.maxTreePageSize ?? 5000;
  return {
    // The request comes from decodeFindMissingRequest and the answer goes out hand-encoded (see find-missing-codec).
    findMissingBlobs: unary(logger, 'FindMissingBlobs', async (req: FindMissingRequest) => {
      const { inst, fn } = instances.request(req.instanceName, req.digestFunction, req.blobDigests[0]?.hash);
      const digests = parseDigests(req.blobDigests, fn, 'blob_digests');
      return encodeFindMissingResponse(await inst.cas.findMissing(digests));
    }),

    batchUpdateBlobs: unary(logger, 'BatchUpdateBlobs', async (req: REv2.BatchUpdateBlobsRequest) => {
      const { inst, fn } = instances.request(req.instanceName, req.digestFunction, req.requests[0]?.digest?.hash);
      const total = req.requests.reduce((n, r) => n + (r.data?.byteLength ?? 0), 0);
      checkBatchSize(total, options.maxBatchTotalSizeBytes, 'BatchUpdateBlobs');
      const responses = await Promise.all(
        req.requests.map(async (r, i) => {
          try {
            const digest = Digest.fromProto(r.digest, fn, `requests[${i}].digest`);
            checkCompressorValue(r.compressor ?? 0, `requests[${i}]`);
            const data = r.compressor === ZSTD ? decompressExactly(asBuffer(r.data), digest.size, `requests[${i}] (${digest})`) : asBuffer(r.data);
            await putBlob(inst.cas, digest, data);
            return { digest: r.digest, status: OK_STATUS };
          } catch (err) {
            return { digest: r.digest, status: toRpcStatus(err) };
          }
        }),
      );
      return re.BatchUpdateBlobsResponse.create({ responses });
    }),

    batchReadBlobs: unary(logger, 'BatchReadBlobs', async (req: REv2.BatchReadBlobsRequest) => {
      const { inst, fn } = instances.request(req.instanceName, req.digestFunction, req.digests[0]?.hash);
      const parsed = req.digests.map((d, i) => {
        try {
          return Digest.fromProto(d, fn, `digests[${i}]`);
        } catch (err) {
          return err as StatusError;
        }
      });
      const total = parsed.reduce((n, d) => n + (d instanceof Digest ? d.size : 0), 0);
      checkBatchSize(total, options.maxBatchTotalSizeBytes, 'BatchReadBlobs');
      // Each blob goes back compressed when the client accepts zstd and it pays; identity is always acceptable.
      const zstd = req.acceptableCompressors.includes(ZSTD);
      if (!zstd && parsed.every((d): d is Digest => d instanceof Digest)) {
        // The common case (Bazel never asks for zstd): blobs read straight into the encoded answer.
        const r = await readBatchFrame(inst.cas, parsed);
        if (r.frame) return r.frame as unknown as REv2.BatchReadBlobsResponse;
        const responses = parsed.map((_, i) => (r.errors[i] ? { digest: req.digests[i], status: toRpcStatus(r.errors[i]) } : { digest: req.digests[i], data: r.data[i], status: OK_STATUS }));
        return re.BatchReadBlobsResponse.create({ responses });
      }
      const responses = await Promise.all(
        parsed.map(async (d, i) => {
          try {
            if (!(d instanceof Digest)) throw d;
            const data = await readBlob(inst.cas, d);
            if (zstd && data.byteLength >= MIN_COMPRESS_BYTES) {
              const packed = compressBuffer(data, ZSTD_SERVE_LEVEL);
              if (packed.byteLength < data.byteLength) return { digest: req.digests[i], data: packed, compressor: ZSTD, status: OK_STATUS };
            }
            return { digest: req.digests[i], data, status: OK_STATUS };
          } catch (err) {
            return { digest: req.digests[i], status: toRpcStatus(err) };
          }
        }),
      );
      return re.BatchReadBlobsResponse.create({ responses });
    }),

    getTree: serverStreaming(logger, 'GetTree', async (req: REv2.GetTreeRequest, call: ServerWritableStream<REv2.GetTreeRequest, REv2.GetTreeResponse>) => {
      const { inst, fn } = instances.request(req.instanceName, req.digestFunction, req.rootDigest?.hash);
      const root = Digest.fromProto(req.rootDigest, fn, 'root_digest');
      if (req.pageSize < 0) throw new StatusError(Code.INVALID_ARGUMENT, `page_size ${req.pageSize} is negative`);
      const pageSize = Math.min(req.pageSize || maxPage, maxPage);
      for await (const page of walkTree(inst.cas, root, pageSize, req.pageToken)) {
        if (call.cancelled) return;
        await writeMessage(call, re.GetTreeResponse.create({ directories: page.directories, nextPageToken: page.nextPageToken }));
      }
    }),
  };
}

/** Validates every digest; the field name with its index is built only for the error. */
function parseDigests(protos: DigestFields[], fn: DigestFunction, field: string): Digest[] {
  const out = new Array<Digest>(protos.length);
  for (let i = 0; i < protos.length; i++) {
    try {
      out[i] = Digest.fromProto(protos[i], fn);
    } catch {
      out[i] = Digest.fromProto(protos[i], fn, `${field}[${i}]`);
    }
  }
  return out;
}

function checkBatchSize(total: number, max: number, rpcName: string): void {
  if (total > max) {
    throw new StatusError(Code.INVALID_ARGUMENT, `${rpcName}: ${total} bytes in one batch exceed max_batch_total_size_bytes (${max}); use ByteStream for large blobs`);
  }
}
