import { Client, ClientReadableStream, ClientWritableStream, Metadata } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import Long from 'long';
import { Digest } from '../../digest/digest';
import { Code, StatusError, toStatusError, wrap } from '../../grpc/status-error';
import { fromRpcStatus } from '../../grpc/rpc-status';
import { asBuffer, bytestream, ByteStreamPb, re, REv2 } from '../../proto';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { checkRange, openStreaming } from '../blob-io';
import { GrpcBlobWriter, resourcePath } from './grpc-blob-writer';

/** The generic grpc-js clients this store calls (built in src/cmd from the service definitions). */
export interface CasClients {
  cas: Client;
  byteStream: Client;
}

export interface GrpcBlobStoreOptions {
  /** Digests per FindMissingBlobs request; keeps requests far below the 4 MiB message limit. */
  findMissingChunk?: number;
  /** Blobs up to this size are uploaded with one BatchUpdateBlobs call instead of a ByteStream Write. */
  batchUploadMaxBytes?: number;
  /** ByteStream Write chunk size (≤ 1 MiB). */
  writeChunkBytes?: number;
}

type Unary = (req: unknown, md: Metadata, cb: (err: Error | null, res?: unknown) => void) => void;

/** A BlobStore backed by a remote CAS of one instance (the worker's view of the frontend). */
export class GrpcBlobStore implements BlobStore {
  private readonly findMissingChunk: number;
  private readonly batchUploadMaxBytes: number;
  private readonly writeChunkBytes: number;

  constructor(
    private readonly clients: CasClients,
    private readonly instanceName: string,
    options: GrpcBlobStoreOptions = {},
  ) {
    this.findMissingChunk = options.findMissingChunk ?? 10_000;
    this.batchUploadMaxBytes = options.batchUploadMaxBytes ?? 1024 * 1024;
    this.writeChunkBytes = Math.min(options.writeChunkBytes ?? 1024 * 1024, 1024 * 1024);
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    const missing: Digest[] = [];
    for (let i = 0; i < digests.length; i += this.findMissingChunk) {
      const chunk = digests.slice(i, i + this.findMissingChunk);
      const byKey = new Map(chunk.map((d) => [d.key, d]));
      const res = (await this.unary('findMissingBlobs', re.FindMissingBlobsRequest.create({
        instanceName: this.instanceName,
        blobDigests: chunk.map((d) => d.toProto()),
        digestFunction: chunk[0].fn.id,
      }))) as REv2.FindMissingBlobsResponse;
      for (const m of res.missingBlobDigests) {
        const d = byKey.get(`${m.hash}-${Long.fromValue(m.sizeBytes ?? 0).toString()}`);
        if (d) missing.push(d);
      }
    }
    return missing;
  }

  open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    return openStreaming(this, digest, range);
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    const { start, end } = checkRange(digest, options);
    if (start === end) return Readable.from([], { objectMode: false });
    const call = this.clients.byteStream.makeServerStreamRequest(
      '/google.bytestream.ByteStream/Read',
      (m: ByteStreamPb.ReadRequest) => Buffer.from(bytestream.ReadRequest.encode(m).finish()),
      (b: Buffer) => bytestream.ReadResponse.decode(b),
      bytestream.ReadRequest.create({
        resourceName: `${prefix(this.instanceName)}blobs/${resourcePath(digest)}`,
        readOffset: Long.fromNumber(start),
        readLimit: Long.fromNumber(options?.limit ? end - start : 0),
      }),
      new Metadata(),
    ) as ClientReadableStream<ByteStreamPb.ReadResponse>;
    const it = call[Symbol.asyncIterator]() as AsyncIterator<ByteStreamPb.ReadResponse>;
    // Wait for the first message so NOT_FOUND surfaces from get() itself, as the interface promises.
    let first: IteratorResult<ByteStreamPb.ReadResponse>;
    try {
      first = await it.next();
    } catch (err) {
      call.cancel();
      throw wrap(err, `ByteStream Read of ${digest}`);
    }
    async function* rest(): AsyncGenerator<Buffer> {
      try {
        let next = first;
        while (!next.done) {
          if (next.value.data.byteLength > 0) yield asBuffer(next.value.data);
          next = await it.next();
        }
      } catch (err) {
        throw wrap(err, `ByteStream Read of ${digest}`);
      } finally {
        call.cancel();
      }
    }
    return Readable.from(rest(), { objectMode: false });
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    if (digest.size <= this.batchUploadMaxBytes) return new BatchBlobWriter(digest, (data) => this.batchUpload(digest, data));
    const resourceName = `${prefix(this.instanceName)}uploads/${randomUUID()}/blobs/${resourcePath(digest)}`;
    return new GrpcBlobWriter(digest, resourceName, this.writeChunkBytes, (cb) =>
      this.clients.byteStream.makeClientStreamRequest(
        '/google.bytestream.ByteStream/Write',
        (m: ByteStreamPb.WriteRequest) => Buffer.from(bytestream.WriteRequest.encode(m).finish()),
        (b: Buffer) => bytestream.WriteResponse.decode(b),
        new Metadata(),
        cb,
      ) as ClientWritableStream<ByteStreamPb.WriteRequest>,
    );
  }

  private async batchUpload(digest: Digest, data: Buffer): Promise<void> {
    const res = (await this.unary('batchUpdateBlobs', re.BatchUpdateBlobsRequest.create({
      instanceName: this.instanceName,
      requests: [{ digest: digest.toProto(), data }],
      digestFunction: digest.fn.id,
    }))) as REv2.BatchUpdateBlobsResponse;
    const status = res.responses[0]?.status;
    if (!status) throw new StatusError(Code.INTERNAL, `BatchUpdateBlobs of ${digest}: the server returned no response for the blob`);
    if (status.code !== Code.OK) throw wrap(fromRpcStatus(status as Parameters<typeof fromRpcStatus>[0]), `BatchUpdateBlobs of ${digest}`);
  }

  private unary(method: 'findMissingBlobs' | 'batchUpdateBlobs', req: unknown): Promise<unknown> {
    const fn = (this.clients.cas as unknown as Record<string, Unary>)[method].bind(this.clients.cas);
    return new Promise((resolve, reject) => fn(req, new Metadata(), (err, res) => (err ? reject(wrap(toStatusError(err), method)) : resolve(res))));
  }
}

/** Small blobs: buffered (they are at most batchUploadMaxBytes) and sent in one unary call on commit. */
class BatchBlobWriter implements BlobWriter {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly digest: Digest,
    private readonly upload: (data: Buffer) => Promise<void>,
  ) {}

  get committedSize(): number {
    return this.size;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.size + chunk.byteLength > this.digest.size) {
      throw new StatusError(Code.INVALID_ARGUMENT, `upload of ${this.digest}: more than ${this.digest.size} bytes written`);
    }
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  async commit(): Promise<void> {
    if (this.size !== this.digest.size) throw new StatusError(Code.INVALID_ARGUMENT, `upload of ${this.digest}: ${this.size} bytes written, digest says ${this.digest.size}`);
    await this.upload(Buffer.concat(this.chunks));
    this.chunks = [];
  }

  async abort(): Promise<void> {
    this.chunks = [];
  }
}

function prefix(instance: string): string {
  return instance ? `${instance}/` : '';
}
