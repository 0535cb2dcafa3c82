import type { ServerReadableStream, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import Long from 'long';
import type { Logger } from 'pino';
import { checkCompressorSegment, ZSTD_SERVE_LEVEL } from '../compression/compressor';
import { DecompressingWriter } from '../compression/decompressing-writer';
import { compressChunks } from '../compression/zstd';
import { Digest } from '../digest/digest';
import { parseReadResourceName, parseWriteResourceName, ResourceName } from '../digest/resource-name';
import { clientStreaming, serverStreaming, unary } from '../grpc/handlers';
import { Code, invalidArgument, StatusError } from '../grpc/status-error';
import { asBuffer, bytestream, ByteStreamPb, re } from '../proto';
import { Instance, Instances } from './instance';
import { ReadResponseSender } from './read-response-sender';
import { UploadSessions } from './upload-sessions';

export function byteStreamService(instances: Instances, sessions: UploadSessions, logger: Logger): UntypedServiceImplementation {
  const resolve = (rn: ResourceName): { inst: Instance; digest: Digest; compressor?: 'zstd' } => {
    const compressor = rn.compressor === undefined ? undefined : checkCompressorSegment(rn.compressor);
    const { inst, fn } = instances.request(rn.instance, functionIdOfSegment(rn.digestFunction), rn.hash);
    return { inst, digest: Digest.of(rn.hash, rn.size, fn, 'resource_name'), compressor };
  };
  // Uploads of the same name in compressed and plain form are different sessions (their offsets differ).
  const sessionKey = (rn: ResourceName & { uploadId: string }, digest: Digest) => `${rn.instance}\n${rn.uploadId}\n${rn.compressor ?? ''}\n${digest.key}`;
  // A finished compressed upload reports -1: its compressed size is not known to the server (REAPI).
  const completeSize = (digest: Digest, compressor: string | undefined) => Long.fromNumber(compressor ? -1 : digest.size);

  return {
    read: serverStreaming(logger, 'Read', async (req: ByteStreamPb.ReadRequest, call: ServerWritableStream<ByteStreamPb.ReadRequest, ByteStreamPb.ReadResponse>) => {
      const { inst, digest, compressor } = resolve(parseReadResourceName(req.resourceName));
      const offset = Long.fromValue(req.readOffset);
      const limit = Long.fromValue(req.readLimit);
      if (offset.isNegative() || offset.greaterThan(digest.size)) {
        throw new StatusError(Code.OUT_OF_RANGE, `read_offset ${offset} is outside blob ${digest} (size ${digest.size})`);
      }
      if (limit.isNegative()) throw new StatusError(Code.OUT_OF_RANGE, `read_limit ${limit} is negative`);
      if (compressor) {
        if (!limit.isZero()) throw invalidArgument(`read_limit must be 0 when reading compressed-blobs (it was ${limit})`);
        // compressed-blobs: read_offset counts uncompressed bytes; the rest of the blob goes out as one zstd frame.
        const stream = await inst.cas.get(digest, { offset: offset.toNumber() });
        try {
          const sender = new ReadResponseSender(call);
          for await (const chunk of compressChunks(stream, ZSTD_SERVE_LEVEL)) {
            if (call.cancelled) return;
            await sender.sendBytes(chunk);
          }
        } finally {
          stream.destroy();
        }
        return;
      }
      const start = offset.toNumber();
      const end = limit.isZero() ? digest.size : Math.min(digest.size, start + limit.toNumber());
      const reader = await inst.cas.open(digest, { offset: start, limit: end - start });
      try {
        await new ReadResponseSender(call).sendBlob(reader, digest, start, end);
      } finally {
        await reader.close();
      }
    }),

    write: clientStreaming(logger, 'Write', async (call: ServerReadableStream<ByteStreamPb.WriteRequest, ByteStreamPb.WriteResponse>) => {
      let key: string | undefined;
      let session: ReturnType<UploadSessions['get']>;
      let digest: Digest | undefined;
      let firstName = '';
      // Wrong bytes or a failing disk end the upload for good: it cannot be resumed.
      const fatal = async <T>(op: () => Promise<T>): Promise<T> => {
        try {
          return await op();
        } catch (err) {
          sessions.remove(key!);
          await session!.writer.abort();
          throw err;
        }
      };
      try {
        for await (const msg of call as AsyncIterable<ByteStreamPb.WriteRequest>) {
          const offset = Long.fromValue(msg.writeOffset).toNumber();
          if (!session) {
            firstName = msg.resourceName;
            const rn = parseWriteResourceName(msg.resourceName);
            const target = resolve(rn);
            digest = target.digest;
            key = sessionKey(rn, digest);
            // Early completion: the blob is already stored, so the client need not send the rest.
            if ((await target.inst.cas.findMissing([digest])).length === 0) {
              const existing = sessions.get(key);
              if (existing && !existing.busy) {
                sessions.remove(key);
                void existing.writer.abort();
              }
              return bytestream.WriteResponse.create({ committedSize: completeSize(digest, target.compressor) });
            }
            const existing = sessions.get(key);
            if (existing?.busy) throw new StatusError(Code.ABORTED, `another stream is already writing ${msg.resourceName}`);
            if (existing) {
              existing.busy = true;
              session = existing;
            } else {
              if (offset !== 0) throw new StatusError(Code.NOT_FOUND, `no upload in progress for ${msg.resourceName}; start again at write_offset 0`);
              const writer = await target.inst.cas.createWriter(digest);
              session = sessions.add(key, target.compressor ? new DecompressingWriter(writer, digest) : writer);
            }
          } else if (msg.resourceName && msg.resourceName !== firstName) {
            throw invalidArgument(`resource_name changed within one Write stream (from "${firstName}" to "${msg.resourceName}")`);
          }
          if (offset !== session.writer.committedSize) {
            throw invalidArgument(`write_offset ${offset} does not match the ${session.writer.committedSize} bytes committed so far; ask QueryWriteStatus where to resume`);
          }
          const writer = session.writer;
          if (msg.data.byteLength > 0) await fatal(() => writer.write(asBuffer(msg.data)));
          if (msg.finishWrite) {
            await fatal(() => writer.commit());
            sessions.remove(key!);
            return bytestream.WriteResponse.create({ committedSize: Long.fromNumber(session.writer.committedSize) });
          }
        }
        // grpc-js ends the iteration quietly when the client cancels before any data: that is no half-close.
        if ((call as { cancelled?: boolean }).cancelled) throw new StatusError(Code.CANCELLED, 'the client cancelled the Write');
        if (!session) throw invalidArgument('Write stream ended without any request');
        // Half-close without finish_write (REAPI): answer how much was kept; the upload stays resumable from there.
        logger.debug({ digest: digest?.toString(), committed: session.writer.committedSize }, 'Write half-closed before finish_write');
        return bytestream.WriteResponse.create({ committedSize: Long.fromNumber(session.writer.committedSize) });
      } finally {
        if (key && session) sessions.release(key, session);
      }
    }),

    queryWriteStatus: unary(logger, 'QueryWriteStatus', async (req: ByteStreamPb.QueryWriteStatusRequest) => {
      const rn = parseWriteResourceName(req.resourceName);
      const { inst, digest, compressor } = resolve(rn);
      if ((await inst.cas.findMissing([digest])).length === 0) {
        return bytestream.QueryWriteStatusResponse.create({ committedSize: completeSize(digest, compressor), complete: true });
      }
      const s = sessions.get(sessionKey(rn, digest));
      if (!s) throw new StatusError(Code.NOT_FOUND, `no upload in progress for ${req.resourceName}`);
      return bytestream.QueryWriteStatusResponse.create({ committedSize: Long.fromNumber(s.writer.committedSize), complete: false });
    }),
  };
}

/** The DigestFunction.Value named by a resource-name segment ("blake3"); undefined when there is none. */
function functionIdOfSegment(segment: string | undefined): number | undefined {
  if (segment === undefined) return undefined;
  const id = (re.DigestFunction.Value as unknown as Record<string, number>)[segment.toUpperCase()];
  if (id === undefined || id === re.DigestFunction.Value.UNKNOWN) throw invalidArgument(`resource_name names digest function "${segment}", which REAPI does not define`);
  return id;
}
