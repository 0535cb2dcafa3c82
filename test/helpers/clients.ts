import * as assert from 'node:assert/strict';
import { ClientReadableStream, ClientWritableStream, credentials, makeGenericClientConstructor, ServiceDefinition, ServiceError, status } from '@grpc/grpc-js';
import Long from 'long';
import { ActionCacheService, ByteStreamService, CapabilitiesService, ContentAddressableStorageService } from '../../src/grpc/service-definitions';
import { ByteStreamPb, REv2 } from '../../src/proto';

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;
// grpc-js generic clients are untyped; these are the call shapes of the methods we use.
type RawClient = Record<string, (...args: unknown[]) => unknown> & { close(): void };

function connect(def: ServiceDefinition, name: string, address: string): RawClient {
  const Ctor = makeGenericClientConstructor(def, name);
  // Reads of large blobs arrive in 1 MiB chunks; batches up to the server's limit need a larger receive size.
  return new Ctor(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 }) as unknown as RawClient;
}

function unary<Req, Res>(client: RawClient, method: string): (req: Req) => Promise<Res> {
  return (req) => new Promise<Res>((resolve, reject) => client[method](req, ((err, res) => (err ? reject(err) : resolve(res as Res))) as Callback<Res>));
}

function serverStream<Req, Res>(client: RawClient, method: string): (req: Req) => Promise<Res[]> {
  return async (req) => {
    const out: Res[] = [];
    for await (const m of client[method](req) as ClientReadableStream<Res>) out.push(m as Res);
    return out;
  };
}

/** A ByteStream Write in progress: send requests one at a time, then end (or cancel) and await the response. */
export interface WriteCall {
  stream: ClientWritableStream<ByteStreamPb.IWriteRequest>;
  send(req: ByteStreamPb.IWriteRequest): void;
  response: Promise<ByteStreamPb.WriteResponse>;
}

export interface Clients {
  capabilities: { getCapabilities(req: REv2.IGetCapabilitiesRequest): Promise<REv2.ServerCapabilities> };
  cas: {
    findMissingBlobs(req: REv2.IFindMissingBlobsRequest): Promise<REv2.FindMissingBlobsResponse>;
    batchUpdateBlobs(req: REv2.IBatchUpdateBlobsRequest): Promise<REv2.BatchUpdateBlobsResponse>;
    batchReadBlobs(req: REv2.IBatchReadBlobsRequest): Promise<REv2.BatchReadBlobsResponse>;
    /** All GetTree responses of one call (one per page the server streamed). */
    getTree(req: REv2.IGetTreeRequest): Promise<REv2.GetTreeResponse[]>;
  };
  ac: {
    getActionResult(req: REv2.IGetActionResultRequest): Promise<REv2.ActionResult>;
    updateActionResult(req: REv2.IUpdateActionResultRequest): Promise<REv2.ActionResult>;
  };
  byteStream: {
    /** All ReadResponses of one Read. */
    readResponses(req: ByteStreamPb.IReadRequest): Promise<ByteStreamPb.ReadResponse[]>;
    /** The raw Read call, for tests that cancel it or watch its messages arrive. */
    readStream(req: ByteStreamPb.IReadRequest): ClientReadableStream<ByteStreamPb.ReadResponse>;
    /** The bytes of one Read, concatenated. */
    read(resourceName: string, offset?: number, limit?: number): Promise<Buffer>;
    openWrite(): WriteCall;
    /** Sends the requests in order, ends the stream and returns the response. */
    write(reqs: ByteStreamPb.IWriteRequest[]): Promise<ByteStreamPb.WriteResponse>;
    queryWriteStatus(req: ByteStreamPb.IQueryWriteStatusRequest): Promise<ByteStreamPb.QueryWriteStatusResponse>;
  };
  close(): void;
}

/** Promisified clients for the cache services at `address` (host:port). */
export function createClients(address: string): Clients {
  const caps = connect(CapabilitiesService, 'Capabilities', address);
  const cas = connect(ContentAddressableStorageService, 'ContentAddressableStorage', address);
  const ac = connect(ActionCacheService, 'ActionCache', address);
  const bs = connect(ByteStreamService, 'ByteStream', address);
  const readResponses = serverStream<ByteStreamPb.IReadRequest, ByteStreamPb.ReadResponse>(bs, 'read');
  const openWrite = (): WriteCall => {
    let stream!: ClientWritableStream<ByteStreamPb.IWriteRequest>;
    const response = new Promise<ByteStreamPb.WriteResponse>((resolve, reject) => {
      stream = bs.write(((err, res) => (err ? reject(err) : resolve(res as ByteStreamPb.WriteResponse))) as Callback<ByteStreamPb.WriteResponse>) as ClientWritableStream<ByteStreamPb.IWriteRequest>;
    });
    response.catch(() => undefined); // callers await it; avoid an unhandled rejection if they cancel first
    return { stream, send: (req) => void stream.write(req), response };
  };
  return {
    capabilities: { getCapabilities: unary(caps, 'getCapabilities') },
    cas: {
      findMissingBlobs: unary(cas, 'findMissingBlobs'),
      batchUpdateBlobs: unary(cas, 'batchUpdateBlobs'),
      batchReadBlobs: unary(cas, 'batchReadBlobs'),
      getTree: serverStream(cas, 'getTree'),
    },
    ac: { getActionResult: unary(ac, 'getActionResult'), updateActionResult: unary(ac, 'updateActionResult') },
    byteStream: {
      readResponses,
      readStream: (req) => bs.read(req) as ClientReadableStream<ByteStreamPb.ReadResponse>,
      read: async (resourceName, offset = 0, limit = 0) =>
        Buffer.concat((await readResponses({ resourceName, readOffset: Long.fromNumber(offset), readLimit: Long.fromNumber(limit) })).map((r) => Buffer.from(r.data))),
      openWrite,
      write: (reqs) => {
        const w = openWrite();
        for (const r of reqs) w.send(r);
        w.stream.end();
        return w.response;
      },
      queryWriteStatus: unary(bs, 'queryWriteStatus'),
    },
    close: () => {
      for (const c of [caps, cas, ac, bs]) c.close();
    },
  };
}

/** Awaits a call that must fail with `code`, and checks that every pattern occurs in the error message. */
export async function expectStatus(call: Promise<unknown>, code: status, ...patterns: (RegExp | string)[]): Promise<ServiceError> {
  let err: ServiceError;
  try {
    await call;
  } catch (e) {
    err = e as ServiceError;
    assert.equal(status[err.code], status[code], `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(err.details.includes(p), `message "${err.details}" should mention "${p}"`);
      else assert.match(err.details, p);
    }
    return err;
  }
  assert.fail(`expected ${status[code]}, but the call succeeded`);
}

export { status as Code };
