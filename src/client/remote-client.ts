import { ChannelCredentials, Client, ClientReadableStream, makeGenericClientConstructor, Metadata, ServiceError } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { GrpcBlobStore } from '../blobstore/grpc/grpc-blob-store';
import { collect } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { DigestFunction, SHA256 } from '../digest/digest-function';
import { bearerTokenInterceptor } from '../auth/bearer-token-interceptor';
import { Code, StatusError, toStatusError, wrap } from '../grpc/status-error';
import { fromRpcStatus } from '../grpc/rpc-status';
import { ActionCacheService, ByteStreamService, ContentAddressableStorageService, ExecutionService } from '../grpc/service-definitions';
import { encode, LongrunningPb, re, REv2 } from '../proto';
import { uploadBlobs } from '../worker/blob-uploader';
import { UploadBlob } from './input-tree';
import { ClientSettings } from './settings';

type Unary = (req: unknown, md: Metadata, opts: { deadline?: number }, cb: (err: ServiceError | null, res?: unknown) => void) => void;

/** Who is calling, sent as REAPI RequestMetadata (the scheduler groups a build's actions by invocation id). */
export interface CallerInfo {
  toolName: string;
  toolVersion?: string;
  invocationId: string;
  /** e.g. the crate name; shows in the server's logs. */
  targetId?: string;
  mnemonic?: string;
}

/** Stage changes of a running Execute (QUEUED, EXECUTING). */
export type StageListener = (stage: REv2.ExecutionStage.Value) => void;

const CHANNEL_OPTIONS: Record<string, unknown> = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  // The default 64 KiB HTTP/2 window throttles ByteStream reads.
  'grpc-node.flow_control_window': 8 * 1024 * 1024,
  'grpc.initial_reconnect_backoff_ms': 200,
};

/**
 * The small REAPI client the front doors share: CAS upload (FindMissingBlobs, then BatchUpdateBlobs or ByteStream),
 * GetActionResult, Execute with streamed Operations, and downloads. Every method throws StatusError; UNAVAILABLE and
 * DEADLINE_EXCEEDED from the first call mean the backend is unreachable (see isUnreachable).
 */
export class RemoteClient {
  readonly cas: GrpcBlobStore;
  private readonly clients: Client[];

  private constructor(
    casClient: Client,
    byteStream: Client,
    private readonly ac: Client,
    private readonly execution: Client,
    readonly instance: string,
    readonly fn: DigestFunction,
    private readonly connectTimeoutMs: number,
    /** host:port, for messages and per-backend state. */
    readonly address: string,
    private readonly queueTimeoutMs: number,
  ) {
    this.cas = new GrpcBlobStore({ cas: casClient, byteStream }, instance);
    this.clients = [casClient, byteStream, ac, execution];
  }

  static async connect(settings: ClientSettings): Promise<RemoteClient> {
    const token = settings.tokenFile ? await readToken(settings.tokenFile) : undefined;
    const credentials = settings.tls ? ChannelCredentials.createSsl(settings.tlsCa ? await fsp.readFile(settings.tlsCa) : null) : ChannelCredentials.createInsecure();
    const options = { ...CHANNEL_OPTIONS, ...(token ? { interceptors: [bearerTokenInterceptor(token)] } : {}) };
    const make = (def: Parameters<typeof makeGenericClientConstructor>[0], name: string) => new (makeGenericClientConstructor(def, name))(settings.address, credentials, options);
    return new RemoteClient(
      make(ContentAddressableStorageService, 'ContentAddressableStorage'),
      make(ByteStreamService, 'ByteStream'),
      make(ActionCacheService, 'ActionCache'),
      make(ExecutionService, 'Execution'),
      settings.instance,
      SHA256,
      settings.connectTimeoutMs,
      settings.address,
      settings.queueTimeoutMs,
    );
  }

  /** Uploads the blobs the CAS lacks (one FindMissingBlobs, then uploads 8 at a time). Returns how many were sent. */
  async upload(blobs: UploadBlob[]): Promise<number> {
    const unique = [...new Map(blobs.map((b) => [b.digest.key, b])).values()];
    const missing = new Set((await this.cas.findMissing(unique.map((b) => b.digest))).map((d) => d.key));
    const needed = unique.filter((b) => missing.has(b.digest.key));
    // uploadBlobs asks FindMissingBlobs itself; hand it only what is missing, so that second question is cheap.
    await uploadBlobs(this.cas, needed);
    return needed.length;
  }

  /** The cached result of an action, or undefined on a miss. stdout/stderr come inline when small. */
  async getActionResult(actionDigest: Digest, caller: CallerInfo): Promise<REv2.ActionResult | undefined> {
    const req = re.GetActionResultRequest.create({ instanceName: this.instance, actionDigest: actionDigest.toProto(), inlineStdout: true, inlineStderr: true, digestFunction: this.fn.id });
    try {
      return (await this.unary(this.ac, 'getActionResult', req, caller, Date.now() + this.connectTimeoutMs)) as REv2.ActionResult;
    } catch (err) {
      if (err instanceof StatusError && err.code === Code.NOT_FOUND) return undefined;
      throw err;
    }
  }

  /**
   * Runs an action (the server answers from its cache unless `skipCacheLookup`) and resolves with the final
   * ExecuteResponse. An execution error (ExecuteResponse.status) is returned, not thrown; transport errors throw.
   * A stream that ends without a final Operation is re-attached with Execute once (the server merges it).
   * An action no worker starts within the queue timeout (the pool has no worker, or none free for that long) throws
   * QueueTimeoutError; the stream is cancelled, and the server drops the action once no caller follows it.
   */
  async execute(actionDigest: Digest, caller: CallerInfo, onStage?: StageListener, skipCacheLookup = false): Promise<REv2.ExecuteResponse> {
    const req = re.ExecuteRequest.create({ instanceName: this.instance, actionDigest: actionDigest.toProto(), skipCacheLookup, digestFunction: this.fn.id });
    for (let attempt = 0; ; attempt++) {
      const call = (this.execution as unknown as Record<string, (r: unknown, md: Metadata) => ClientReadableStream<LongrunningPb.Operation>>).execute.call(this.execution, req, requestMetadata(caller));
      let queuedTooLong = false;
      let timer: NodeJS.Timeout | undefined = setTimeout(() => {
        queuedTooLong = true;
        call.cancel();
      }, this.queueTimeoutMs);
      const started = () => {
        clearTimeout(timer);
        timer = undefined;
      };
      try {
        for await (const op of call as AsyncIterable<LongrunningPb.Operation>) {
          if (op.metadata?.value?.length) {
            const stage = re.ExecuteOperationMetadata.decode(op.metadata.value).stage;
            if (stage === re.ExecutionStage.Value.EXECUTING || stage === re.ExecutionStage.Value.COMPLETED) started();
            onStage?.(stage);
          }
          if (!op.done) continue;
          started();
          if (op.error) throw wrap(fromRpcStatus(op.error as Parameters<typeof fromRpcStatus>[0]), `Execute of ${actionDigest}`);
          if (!op.response?.value) throw new StatusError(Code.INTERNAL, `Execute of ${actionDigest}: the final Operation carries no ExecuteResponse`);
          return re.ExecuteResponse.decode(op.response.value);
        }
      } catch (err) {
        if (queuedTooLong) throw new QueueTimeoutError(this.queueTimeoutMs);
        throw wrap(toStatusError(err), `Execute of ${actionDigest}`);
      } finally {
        started();
      }
      if (queuedTooLong) throw new QueueTimeoutError(this.queueTimeoutMs);
      if (attempt >= 1) throw new StatusError(Code.UNAVAILABLE, `Execute of ${actionDigest}: the stream ended twice without a result`);
    }
  }

  async read(digest: Digest): Promise<Buffer> {
    if (digest.size === 0) return Buffer.alloc(0);
    return collect(await this.cas.get(digest));
  }

  /** Downloads a blob to `file` atomically (temp file + rename), so a reader never sees a partial file. */
  async download(digest: Digest, file: string, executable: boolean): Promise<void> {
    const data = await this.read(digest);
    const got = Digest.compute(data, this.fn);
    if (!got.equals(digest)) throw new StatusError(Code.DATA_LOSS, `download of ${digest} to ${file}: the bytes hash to ${got}`);
    await writeAtomically(file, data, executable);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  private unary(client: Client, method: string, req: unknown, caller: CallerInfo, deadline?: number): Promise<unknown> {
    const fn = (client as unknown as Record<string, Unary>)[method].bind(client);
    return new Promise((resolve, reject) => fn(req, requestMetadata(caller), { deadline }, (err, res) => (err ? reject(wrap(toStatusError(err), method)) : resolve(res))));
  }
}

/**
 * No worker started the action within RUSTEXEC_QUEUE_TIMEOUT_MS: the backend answers but has no worker for it (none
 * registered, or all busy that long). Not "unreachable": the cache still serves hits.
 */
export class QueueTimeoutError extends StatusError {
  constructor(readonly timeoutMs: number) {
    super(Code.DEADLINE_EXCEEDED, `no worker started it within ${timeoutMs / 1000} s (RUSTEXEC_QUEUE_TIMEOUT_MS): the backend has no worker, or none free for that long`);
  }
}

/** True for the errors that mean the backend cannot be reached (rather than an answer from it). */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof QueueTimeoutError) return false;
  const code = err instanceof StatusError ? err.code : (err as { code?: unknown })?.code;
  return code === Code.UNAVAILABLE || code === Code.DEADLINE_EXCEEDED;
}

export async function writeAtomically(file: string, data: Buffer, executable: boolean): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.rustexec-${process.pid}.tmp`;
  await fsp.writeFile(tmp, data, { mode: executable ? 0o755 : 0o644 });
  await fsp.rename(tmp, file);
}

function requestMetadata(caller: CallerInfo): Metadata {
  const md = new Metadata();
  const rm = re.RequestMetadata.create({
    toolDetails: { toolName: caller.toolName, toolVersion: caller.toolVersion ?? '' },
    toolInvocationId: caller.invocationId,
    targetId: caller.targetId ?? '',
    actionMnemonic: caller.mnemonic ?? '',
  });
  md.set('build.bazel.remote.execution.v2.requestmetadata-bin', encode(re.RequestMetadata, rm));
  return md;
}

async function readToken(file: string): Promise<string> {
  try {
    const token = (await fsp.readFile(file, 'utf8')).trim();
    if (!token) throw new Error('the file is empty');
    return token;
  } catch (err) {
    throw new StatusError(Code.UNAUTHENTICATED, `RUSTEXEC_TOKEN_FILE ${file}: ${(err as Error).message}`);
  }
}
